package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/provisioning/discovery"
)

// startAdvertising announces the switchboard by mDNS as -advertise says: booths with no
// switchboard.url find it by the announcement, and pin the device CA it names. Only a TLS
// switchboard is announced: a booth enrols by its key over TLS only. Off (nil) when it
// should not be.
func startAdvertising(mode, ifaces, scheme string, addr net.Addr, caFingerprint string, log *slog.Logger) (*discovery.Advertiser, error) {
	tcp, _ := addr.(*net.TCPAddr)
	switch mode {
	case "off":
		return nil, nil
	case "auto":
		if scheme != "https" || tcp == nil || tcp.IP.IsLoopback() {
			log.Debug("not announcing by mDNS: it serves plain HTTP or only on loopback (-advertise on to insist)")
			return nil, nil
		}
	case "on":
		if tcp == nil {
			return nil, fmt.Errorf("-advertise on: listening on %s, not a TCP address", addr)
		}
		if scheme != "https" {
			return nil, fmt.Errorf("-advertise on: booths found by mDNS enrol by their keys over TLS; serve with -tls-lan or -tls-cert")
		}
	default:
		return nil, fmt.Errorf("-advertise %q: allowed values are on, off and auto", mode)
	}
	ifs, err := discovery.Interfaces(splitList(ifaces))
	if err != nil {
		return nil, fmt.Errorf("-advertise-interfaces: %w", err)
	}
	host, _ := os.Hostname()
	rec := discovery.Record{Kind: discovery.KindSwitchboard, ID: discovery.Label(host, "switchboard"), Version: version.String(), CA: caFingerprint}
	adv, err := discovery.NewAdvertiser(discovery.AdvertiserConfig{Port: tcp.Port, Interfaces: ifs, Logger: log}, rec)
	if err != nil {
		return nil, fmt.Errorf("-advertise: %w", err)
	}
	log.Info("announced on the LAN by mDNS", "service", discovery.SwitchboardService, "instance", adv.Instance(), "port", tcp.Port, "device_ca", caFingerprint)
	return adv, nil
}
