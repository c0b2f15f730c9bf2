package health_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carebooth/carebooth/firmware/health"
)

// The booth's checks before a release is committed; here the camera is missing, so the
// release would be rolled back with this reason.
func ExampleRunner() {
	ok := func(context.Context) error { return nil }
	r, err := health.NewRunner(nil, nil,
		health.Check{Name: "switchboard", Timeout: 10 * time.Second, Run: ok},
		health.Check{Name: "camera", Timeout: 5 * time.Second, Run: func(context.Context) error {
			return errors.New("open /dev/video0: no such device")
		}},
		health.Check{Name: "microphone", Timeout: 5 * time.Second, Run: ok},
		health.Check{Name: "screen", Timeout: 5 * time.Second, Run: ok},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = r.Run(context.Background())
	fmt.Println(errors.Is(err, health.ErrFailed), err)
	// Output:
	// true camera: open /dev/video0: no such device
}
