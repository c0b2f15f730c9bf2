package switchboard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/store"
)

// A switchboard in-process, as other packages' tests start one: a memory store seeded
// with the demo data, a fake clock, and an httptest server.
func Example() {
	dir, err := os.MkdirTemp("", "carebooth-demo")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	st := store.NewMemory()
	clock := clockwork.NewFakeClock()
	demo, err := switchboard.SeedDemo(context.Background(), st, clock, dir, bcrypt.MinCost)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost},
		switchboard.Deps{Store: st, Clock: clock, Registerer: prometheus.NewRegistry()})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close() // runs first: it ends the WebSockets, which ts.Close does not wait for

	fmt.Println(demo.Describe(ts.URL))
	// The booth's token is in demo.DeviceTokenFile; dial ts.URL+"/api/v1/signal" with it.
}
