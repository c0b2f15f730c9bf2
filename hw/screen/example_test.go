package screen_test

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/hw/screen"
)

// The layout says what a screen shows; Render draws it.
func ExampleRenderer_Layout() {
	r, err := screen.NewRenderer(image.Pt(1280, 720))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 11, 23, 10, 25, 0, 0, time.UTC)
	v := screen.View{Kind: screen.JoinWindow, Now: now, ClinicName: "Riverside Surgery",
		Appointment: now.Add(5 * time.Minute)}
	fmt.Println(r.Layout(v).Text())
	img, changed := r.Render(v, nil, nil)
	fmt.Println(img.Rect.Size(), changed)
	// Output:
	// Your appointment with Riverside Surgery is at 10:30am
	// Press the green button to join
	// (1280,720) true
}

// panel is a Panel that tells when it is shown a frame.
type panel struct{ shown chan struct{} }

func (p panel) Size() image.Point { return image.Pt(1024, 600) }
func (p panel) Show(img *image.RGBA) error {
	p.shown <- struct{}{}
	return nil
}

// A Display keeps a panel showing the latest View and video frames.
func ExampleDisplay() {
	p := panel{shown: make(chan struct{}, 1)}
	d, err := screen.NewDisplay(p, screen.DisplayConfig{Clock: clockwork.NewFakeClock()})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	d.SetView(screen.View{Kind: screen.HelpRequested})
	<-p.shown // the first frame
	cancel()
	fmt.Println(<-done, d.Frames() >= 1)
	// Output: <nil> true
}
