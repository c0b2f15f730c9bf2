package capture

import (
	"testing"

	"github.com/pion/mediadevices"
)

func TestAvailable(t *testing.T) {
	cam := mediadevices.MediaDeviceInfo{Kind: mediadevices.VideoInput, Label: "video0;usb-cam"}
	testCam := mediadevices.MediaDeviceInfo{Kind: mediadevices.VideoInput, Label: videoTestLabel}
	mic := mediadevices.MediaDeviceInfo{Kind: mediadevices.AudioInput, Label: "hw:1,0"}
	testMic := mediadevices.MediaDeviceInfo{Kind: mediadevices.AudioInput, Label: audioTestLabel}
	tests := []struct {
		name         string
		cfg          Config
		devices      []mediadevices.MediaDeviceInfo
		video, audio bool
	}{
		{"real devices", Config{}, []mediadevices.MediaDeviceInfo{cam, testCam, mic, testMic}, true, true},
		{"auto with only test sources", Config{Video: SourceAuto, Audio: SourceAuto}, []mediadevices.MediaDeviceInfo{testCam, testMic}, false, false},
		{"test sources asked for", Config{Video: SourceTest, Audio: SourceTest}, []mediadevices.MediaDeviceInfo{testCam, testMic}, true, true},
		{"no microphone at all", Config{}, []mediadevices.MediaDeviceInfo{cam}, true, false},
		{"off needs nothing", Config{Video: SourceOff, Audio: SourceOff}, nil, true, true},
		{"named camera present", Config{Video: "/dev/video0", Audio: SourceOff}, []mediadevices.MediaDeviceInfo{cam}, true, true},
		{"named camera missing", Config{Video: "/dev/video7", Audio: SourceOff}, []mediadevices.MediaDeviceInfo{cam}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			video, audio := Available(tt.cfg, tt.devices)
			if video != tt.video || audio != tt.audio {
				t.Errorf("got camera %v microphone %v, want %v %v", video, audio, tt.video, tt.audio)
			}
		})
	}
}
