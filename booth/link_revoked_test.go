package booth

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRefusedAsRevoked: only the switchboard's error body with the revoked code keeps a
// refused booth in the revoked state; any other refusal is an ordinary one.
func TestRefusedAsRevoked(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"revoked", `{"error":{"code":"revoked","message":"this device has been revoked by IT"}}`, true},
		{"unauthorized", `{"error":{"code":"unauthorized","message":"log in"}}`, false},
		{"not JSON", `<html>forbidden</html>`, false},
		{"empty", ``, false},
		{"revoked past the dialler's 1 KiB", `{"pad":"` + strings.Repeat("x", 1100) + `","error":{"code":"revoked"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: http.StatusForbidden, Body: io.NopCloser(strings.NewReader(tc.body))}
			if got := refusedAsRevoked(resp); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if refusedAsRevoked(&http.Response{StatusCode: http.StatusForbidden}) {
		t.Error("no body: got revoked, want not")
	}
}
