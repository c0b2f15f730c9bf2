package vp8

import (
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// BenchmarkEncodeVGA encodes 640x480 frames with this package's default speed and with
// mediadevices' own VP8 encoder (which leaves cpu-used at libvpx's default), reports frames
// per second for each and logs the ratio. Run with: go test -run - -bench EncodeVGA ./media/vp8
func BenchmarkEncodeVGA(b *testing.B) {
	const w, h = 640, 480
	frames := make([]image.Image, 30)
	for i := range frames {
		frames[i] = testFrame(w, h, i, image.YCbCrSubsampleRatio420)
	}
	n := 0
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		n++
		return frames[n%len(frames)], func() {}, nil
	})
	media := prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: 30}}

	run := func(b *testing.B, builder codec.VideoEncoderBuilder) time.Duration {
		enc, err := builder.BuildVideoEncoder(src, media)
		if err != nil {
			b.Fatalf("BuildVideoEncoder: %v", err)
		}
		defer enc.Close()
		bytes := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			frame, release, err := enc.Read()
			if err != nil {
				b.Fatalf("Read: %v", err)
			}
			bytes += len(frame)
			release()
		}
		b.StopTimer()
		perFrame := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(time.Second)/float64(perFrame), "frames/s")
		b.ReportMetric(float64(bytes)/float64(b.N), "bytes/frame")
		return perFrame
	}

	var ours, theirs time.Duration
	b.Run("carebooth", func(b *testing.B) {
		ours = run(b, Params{BitRate: 600_000})
	})
	b.Run("mediadevices", func(b *testing.B) {
		p, err := vpx.NewVP8Params()
		if err != nil {
			b.Fatalf("NewVP8Params: %v", err)
		}
		p.BitRate = 600_000
		theirs = run(b, &p)
	})
	if ours > 0 && theirs > 0 {
		fmt.Printf("640x480 VP8: cpu-used %d is %.1fx the frame rate of mediadevices' vpx encoder (%v vs %v per frame)\n",
			DefaultCPUUsed(w, h), float64(theirs)/float64(ours), ours, theirs)
	}
}

// BenchmarkDecodeVGA decodes 640x480 frames.
func BenchmarkDecodeVGA(b *testing.B) {
	const w, h = 640, 480
	e := newTestEncoder(b, w, h, Params{})
	var stream [][]byte
	for i := 0; i < 30; i++ {
		f, _, err := e.Encode(testFrame(w, h, i, image.YCbCrSubsampleRatio420))
		if err != nil {
			b.Fatalf("Encode: %v", err)
		}
		stream = append(stream, append([]byte(nil), f...))
	}
	d, err := NewDecoder(DecoderConfig{})
	if err != nil {
		b.Fatalf("NewDecoder: %v", err)
	}
	defer d.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Decode(stream[i%len(stream)]); err != nil {
			b.Fatalf("Decode %d: %v", i, err)
		}
	}
}
