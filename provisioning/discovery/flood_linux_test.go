package discovery

import (
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// flood sends, out of ifi, unsolicited mDNS answers a hostile or broken host might: n
// valid-looking devices under new names, oversized and malformed TXT records, wrong
// record types and values, a spoofed device ID, and bytes that are not DNS at all.
func flood(ifi net.Interface, n int) error {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return err
	}
	defer conn.Close()
	pc := ipv4.NewPacketConn(conn)
	if err := pc.SetMulticastInterface(&ifi); err != nil {
		return fmt.Errorf("multicast interface %s: %w", ifi.Name, err)
	}
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	send := func(rrs ...dns.RR) error {
		m := new(dns.Msg)
		m.Response, m.Authoritative = true, true
		m.Answer = rrs
		buf, err := m.Pack()
		if err != nil {
			return err
		}
		_, err = pc.WriteTo(buf, nil, group)
		return err
	}
	service := DeviceService + "." + Domain
	// announce is a whole service: PTR, SRV, TXT and an address.
	announce := func(instance string, port uint16, txt []string, ips ...net.IP) []dns.RR {
		name := instance + "." + service
		host := instance + ".local."
		rrs := []dns.RR{
			&dns.PTR{Hdr: dns.RR_Header{Name: service, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: name},
			&dns.SRV{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 120}, Port: port, Target: host},
			&dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 120}, Txt: txt},
		}
		for _, ip := range ips {
			rrs = append(rrs, &dns.A{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 120}, A: ip})
		}
		return rrs
	}
	ip := net.IPv4(10, 213, 0, 99)
	good, _ := boothRecord().TXT()
	big := []string{"txtvers=1"}
	for range 40 {
		big = append(big, "x="+strings.Repeat("y", 200))
	}
	var manyIPs []net.IP
	for i := range 200 {
		manyIPs = append(manyIPs, net.IPv4(10, 213, 1, byte(i)))
	}
	hostile := [][]dns.RR{
		announce("oversized", 8443, big, ip),
		announce("bad-state", 8443, []string{"txtvers=1", "id=x", "ver=1", "role=booth", "state=pwned"}, ip),
		announce("bad-role", 8443, []string{"txtvers=1", "id=x", "ver=1", "role=switchboard", "state=idle"}, ip),
		announce("no-txtvers", 8443, []string{"id=x", "ver=1", "role=booth", "state=idle"}, ip),
		announce("txtvers-9", 8443, []string{"txtvers=9", "id=x", "ver=1", "role=booth", "state=idle"}, ip),
		announce("injection", 8443, []string{"txtvers=1", "id=x\"><script>", "ver=1", "role=booth", "state=idle"}, ip),
		announce("port-zero", 0, good, ip),
		announce("many-addresses", 8443, good, manyIPs...),
		announce(strings.Repeat("l", 63), 8443, good, ip),
		announce("carebooth-dev-1-evil", 8443, good, ip), // claims the genuine booth's ID
		{&dns.A{Hdr: dns.RR_Header{Name: "orphan.local.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 120}, A: ip}},
		{&dns.PTR{Hdr: dns.RR_Header{Name: service, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: "dangling." + service}},
	}
	for round := range 3 {
		for _, rrs := range hostile {
			if err := send(rrs...); err != nil {
				return fmt.Errorf("send hostile record: %w", err)
			}
		}
		if _, err := pc.WriteTo([]byte("\x00\x01not dns at all"+strings.Repeat("\xff", 100)), nil, group); err != nil {
			return err
		}
		for i := range n {
			r := boothRecord()
			r.ID = fmt.Sprintf("flood-%d-%d", round, i)
			txt, _ := r.TXT()
			if err := send(announce(r.ID, 8443, txt, ip)...); err != nil {
				return fmt.Errorf("send flood: %w", err)
			}
		}
	}
	return nil
}
