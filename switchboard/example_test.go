package switchboard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
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

	// A clinician logs in with the demo password and sees the booked appointment, as the
	// web app and boothctl do; the booth's token is in demo.DeviceTokenFile, for dialling
	// ts.URL+"/api/v1/signal".
	ctx := context.Background()
	anon, err := apiclient.New(ts.URL, "", ts.Client())
	if err != nil {
		fmt.Println(err)
		return
	}
	login, err := anon.Login(ctx, demo.ClinicianUser, demo.ClinicianPassword)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s of %s\n", login.Clinician.Username, demo.ClinicName)
	now := clock.Now()
	appts, err := anon.WithToken(login.Token).Appointments(ctx, apiclient.AppointmentQuery{From: now, To: now.Add(time.Hour)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range appts {
		fmt.Printf("%s at the booth %s, %s, in %s\n", a.Patient, demo.DeviceName, a.Status, a.Start.Sub(now).Round(time.Minute))
	}
	// Output:
	// dr.patel of Riverside Surgery
	// Alex Morgan at the booth library-booth-1, scheduled, in 2m0s
}
