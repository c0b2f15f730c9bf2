package progressbar_test

import (
	"bytes"
	"io"
	"os"
	"time"

	"github.com/carebooth/carebooth/firmware/progressbar"
	"github.com/jonboulle/clockwork"
)

// An upload's body read through the bar; Plain, as for output that is not a terminal.
func ExampleBar_Reader() {
	clock := clockwork.NewFakeClock()
	bundle := bytes.Repeat([]byte{0}, 4<<20)
	bar := progressbar.New(os.Stdout, "bundle-1.4.2.tar.gz", int64(len(bundle)), clock, progressbar.Plain)
	body := bar.Reader(bytes.NewReader(bundle))
	buf := make([]byte, 1<<20)
	for {
		clock.Advance(time.Second) // the network's pace: 1 MiB a second
		if _, err := body.Read(buf); err == io.EOF {
			break
		}
	}
	bar.Finish()
	// Output:
	// bundle-1.4.2.tar.gz [======>                  ]  25%  1.0 MiB / 4.0 MiB  1.0 MiB/s
	// bundle-1.4.2.tar.gz [============>            ]  50%  2.0 MiB / 4.0 MiB  1.0 MiB/s
	// bundle-1.4.2.tar.gz [==================>      ]  75%  3.0 MiB / 4.0 MiB  1.0 MiB/s
	// bundle-1.4.2.tar.gz [=========================] 100%  4.0 MiB / 4.0 MiB  1.0 MiB/s
}
