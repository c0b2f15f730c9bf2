//go:build !linux

package discoverytest

import (
	"net"
	"testing"
)

// Need skips t: network namespaces are Linux's.
func Need(t testing.TB) { t.Skip("network namespaces need Linux") }

// Loopback skips t: network namespaces are Linux's.
func Loopback(t *testing.T) (net.Interface, bool) {
	t.Skip("network namespaces need Linux")
	return net.Interface{}, false
}
