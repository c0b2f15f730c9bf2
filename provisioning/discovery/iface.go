package discovery

import (
	"fmt"
	"net"
	"net/netip"
)

// Interfaces returns the named network interfaces, or when names is empty every interface
// that is up and does multicast (the library's own choice, which leaves out a loopback
// without the MULTICAST flag).
func Interfaces(names []string) ([]net.Interface, error) {
	if len(names) > 0 {
		out := make([]net.Interface, 0, len(names))
		for _, n := range names {
			ifi, err := net.InterfaceByName(n)
			if err != nil {
				return nil, fmt.Errorf("discovery interface %q: %w", n, err)
			}
			if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 {
				return nil, fmt.Errorf("discovery interface %q is down or does not do multicast (%s)", n, ifi.Flags)
			}
			out = append(out, *ifi)
		}
		return out, nil
	}
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var out []net.Interface
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 {
			out = append(out, ifi)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no network interface is up and does multicast")
	}
	return out, nil
}

// addresses returns the IPv4 and IPv6 addresses of ifaces that a neighbour can reach:
// global and link-local unicast, and loopback when a loopback interface was chosen.
func addresses(ifaces []net.Interface) []string {
	var v4, v6 []string
	for _, ifi := range ifaces {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok || ip.IsMulticast() || ip.IsUnspecified() {
				continue
			}
			ip = ip.Unmap()
			if ip.Is4() {
				v4 = append(v4, ip.String())
			} else {
				v6 = append(v6, ip.String())
			}
		}
	}
	return append(v4, v6...)
}
