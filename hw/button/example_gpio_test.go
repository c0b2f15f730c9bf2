package button_test

import (
	"context"
	"fmt"
	"log/slog"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/carebooth/carebooth/hw/button"
)

// Buttons on GPIO lines. On a booth the lines come from periph's gpioioctl driver
// (cmd/boothd opens them from the config); here periph's gpiotest pins stand in, and an
// edge is injected on Join's line as a person pressing it would make.
func ExampleNewGPIO() {
	join := &gpiotest.Pin{N: "GPIO17", Num: 17, EdgesChan: make(chan gpio.Level)}
	end := &gpiotest.Pin{N: "GPIO27", Num: 27, EdgesChan: make(chan gpio.Level)}
	src, err := button.NewGPIO(button.GPIOConfig{Pins: []button.GPIOPin{
		// A switch to ground with the line's pull-up: the line reads low while pressed.
		{Button: button.Join, Pin: join, ActiveLow: true, Pull: gpio.PullUp},
		{Button: button.End, Pin: end, ActiveLow: true, Pull: gpio.PullUp, LongPress: true},
	}}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan button.Event)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()

	join.EdgesChan <- gpio.Low // pressed, and held
	ev := <-out                // once the line has been quiet for the debounce interval
	fmt.Println(ev.Button, ev.Kind)

	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// join press
	// stopped: <nil>
}
