package apiclient

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoServer: the client (and so boothctl) links the API's wire types, not the
// server's store, hub or bbolt.
func TestLinksNoServer(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH; cannot list the package's dependencies")
	}
	for _, pkg := range []string{"github.com/carebooth/carebooth/switchboard/apiclient", "github.com/carebooth/carebooth/cmd/boothctl"} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			switch {
			case dep == "go.etcd.io/bbolt",
				strings.HasPrefix(dep, "github.com/carebooth/carebooth/switchboard/store"),
				dep == "github.com/carebooth/carebooth/switchboard/hub",
				dep == "github.com/carebooth/carebooth/switchboard",
				dep == "github.com/carebooth/carebooth/switchboard/report":
				t.Errorf("%s links %s, want only the API's wire types (switchboard/api)", pkg, dep)
			}
		}
	}
}
