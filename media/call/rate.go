package call

import (
	"sync/atomic"

	"github.com/pion/mediadevices/pkg/codec"
)

// Bitrates of the send-side bandwidth estimate (bits per second, audio and video
// together) and of its share for video.
const (
	// InitialBitrate is where the estimate starts: a VGA call that looks right at once on a
	// decent link, and ramps up from there.
	InitialBitrate = 800_000
	// MinBitrate is the least the estimate goes to: audio alone still fits.
	MinBitrate = 60_000
	// MaxBitrate is the most the estimate goes to.
	MaxBitrate = 4_000_000
	// DefaultMaxVideoBitrate caps video when Options.MaxVideoBitrate is zero.
	DefaultMaxVideoBitrate = 1_500_000
	// audioReserve is kept for Opus (its default rate with RTP, UDP and IP headers) before
	// video gets the rest: audio first.
	audioReserve = 48_000
	// minVideoBitrate is the least video is encoded at; below it the picture is a smear,
	// and the estimate's excess over audio is what is left.
	minVideoBitrate = 50_000
	// rateHysteresis: a change of less than this share of the rate in force is not applied,
	// so the encoder is not retuned for the estimate's noise.
	rateHysteresis = 0.05
)

// rateState is what the call did with the estimate. Owned by the monitor goroutine;
// target and video are read by Stats.
type rateState struct {
	target atomic.Int64 // the estimate at the last look, bits per second
	video  atomic.Int64 // the video encoder's rate last set
	// encoder is the video encoder's rate control, once a track is bound.
	encoder atomic.Pointer[codec.BitRateController]
}

// encoderBound keeps a bound video track's encoder when it controls its bitrate.
func (c *Call) encoderBound(ec codec.EncoderController) {
	if ctrl, ok := ec.(codec.BitRateController); ok && ctrl != nil {
		c.rate.encoder.Store(&ctrl)
		c.rate.video.Store(0) // a new encoder: the next look sets its rate
	}
}

// rateController is a local video track's encoder, once bound.
type rateController interface {
	EncoderController() codec.EncoderController
}

// followEstimate gives the video encoder the estimate's share for video: what is left
// after audio's reserve, between minVideoBitrate and the call's MaxVideoBitrate. Called from
// the monitor on every tick.
func (c *Call) followEstimate() {
	if c.estimator == nil {
		return
	}
	target := c.estimator.GetTargetBitrate()
	c.rate.target.Store(int64(target))
	maxVideo := c.opts.MaxVideoBitrate
	if maxVideo <= 0 {
		maxVideo = DefaultMaxVideoBitrate
	}
	video := min(max(target-audioReserve, minVideoBitrate), maxVideo)
	if cur := int(c.rate.video.Load()); cur > 0 && abs(video-cur) < int(float64(cur)*rateHysteresis) {
		return
	}
	p := c.rate.encoder.Load()
	if p == nil {
		return // not bound yet
	}
	if err := (*p).SetBitRate(video); err != nil {
		c.log.Debug("set video bitrate", "bps", video, "err", err)
		return
	}
	if prev := c.rate.video.Swap(int64(video)); prev == 0 || abs(video-int(prev)) > int(prev)/4 {
		c.log.Debug("video bitrate from the bandwidth estimate", "bps", video, "estimate", target)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
