package main

import (
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/pion/mediadevices"
)

// mediaProblem says, in the screen's words, what the booth is missing to hold a
// consultation (camera, microphone, speaker), or "" when nothing is. A booth whose camera
// is missing still joins (with the test picture, as capture's "auto" falls back to it), but
// staff must see that something is wrong: the screen shows it while the booth is idle or
// in a join window, and the light shows a fault.
func mediaProblem(media config.Media, speakerWanted, speakerOK bool, devices []mediadevices.MediaDeviceInfo) string {
	video, audio := capture.Available(capture.Config{Video: media.Video, Audio: media.Audio}, devices)
	switch {
	case !video:
		return screen.ProblemCamera
	case !audio:
		return screen.ProblemMicrophone
	case speakerWanted && !speakerOK:
		return screen.ProblemSpeaker
	}
	return ""
}
