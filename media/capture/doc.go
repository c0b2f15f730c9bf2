// Package capture opens the booth's camera and microphone through mediadevices, with
// media/vp8's encoder for video and mediadevices' Opus encoder for audio, and hands back the
// tracks for media/call.
//
// A [Stream] holds the devices open; Close releases them, so the camera light is only on
// during a call. [Config.Video] and [Config.Audio] pick the source: "auto" (or empty) takes a
// real device if mediadevices knows one and falls back to the test sources otherwise, and logs
// which; "test" takes mediadevices' videotest/audiotest sources; "off" opens nothing; any other
// value names a device by its label, one of the label's ";"-separated parts, or a path such as
// /dev/video0, and a missing device is ErrNoCamera or ErrNoMicrophone so the booth can show a
// fault.
//
// Drivers register themselves with mediadevices' process-wide manager when their package is
// imported, so, per the house style, only cmd/ imports them:
//
//	import (
//		_ "github.com/pion/mediadevices/pkg/driver/camera"     // V4L2 cameras
//		_ "github.com/pion/mediadevices/pkg/driver/microphone" // ALSA/PulseAudio via malgo
//		_ "github.com/pion/mediadevices/pkg/driver/videotest"  // for "auto" fallback and "test"
//		_ "github.com/pion/mediadevices/pkg/driver/audiotest"
//	)
//
// Tests import videotest and audiotest in their _test files. Each driver can be open once at
// a time, so one Stream's tracks serve every call in a process (a mediadevices Track can be
// bound to several peer connections, each with its own encoder).
//
// [RegisterCodecs] puts the same codecs (VP8, Opus) into a webrtc.MediaEngine, so what the
// SDP offers is what the encoders produce. References: RFC 7741 (VP8 over RTP), RFC 7587
// (Opus over RTP), W3C Media Capture and Streams (the constraints model mediadevices follows).
package capture
