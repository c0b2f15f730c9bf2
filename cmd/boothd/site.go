package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/provisioning/discovery"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/site"
)

// siteCredentials are the enrolled device's certificate and the CA it pinned; ok false
// for a device with a token (which has no certificate to show its site).
func siteCredentials(stateDir string, id *identity.Identity) (site.Credentials, bool, error) {
	cert, err := id.TLSCertificate()
	if err != nil {
		return site.Credentials{}, false, nil
	}
	_, der, err := readCA(filepath.Join(stateDir, caFile))
	if err != nil {
		return site.Credentials{}, false, nil
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return site.Credentials{}, false, fmt.Errorf("pinned switchboard CA: %w", err)
	}
	return site.Credentials{Cert: cert, CA: ca}, true, nil
}

// deviceRecord is what the booth announces of itself now.
func deviceRecord(id string, s booth.Snapshot, fault bool) discovery.Record {
	st := s.BoothState()
	if fault || s.Revoked {
		st = signalling.StateFault
	}
	r := discovery.Record{Kind: discovery.KindDevice, ID: id, Role: s.Role, Site: s.ClinicID, Version: version.String(), State: st}
	if r.Role == "" {
		r.Role = config.Defaults().Device.Role
	}
	if !signalling.ValidID(r.Site) {
		r.Site = ""
	}
	return r
}

// startSite starts what an enrolled device offers its site: the site listener, and (with
// discovery on) its mDNS announcement, kept current with the booth's state and withdrawn
// at shutdown. A LAN with no multicast interface leaves the device unannounced, not
// stopped.
func startSite(ctx context.Context, g *errgroup.Group, cfg config.Config, creds site.Credentials, ifaces []net.Interface,
	b *booth.Booth, fault bool, log *slog.Logger) error {
	if cfg.Site.Listen == "" {
		return nil
	}
	id, err := creds.ID()
	if err != nil {
		return err
	}
	now := func() discovery.Record { return deviceRecord(id, b.Snapshot(), fault) }
	srv, err := site.NewServer(creds, now, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Site.Listen)
	if err != nil {
		return fmt.Errorf("site.listen: %w", err)
	}
	g.Go(func() error { return srv.Serve(ctx, ln) })
	if ifaces == nil {
		return nil
	}
	port := ln.Addr().(*net.TCPAddr).Port
	adv, err := discovery.NewAdvertiser(discovery.AdvertiserConfig{Port: port, Interfaces: ifaces, Logger: log}, now())
	if err != nil {
		log.Warn("not announced on the LAN", "err", err)
		return nil
	}
	log.Info("announced on the LAN by mDNS", "service", discovery.DeviceService, "instance", adv.Instance(), "port", port)
	snaps, stop := b.Subscribe()
	g.Go(func() error {
		defer stop()
		defer adv.Close() // the goodbye
		for {
			select {
			case <-ctx.Done():
				return nil
			case s := <-snaps:
				if err := adv.Update(deviceRecord(id, s, fault)); err != nil {
					log.Warn("mDNS announcement", "err", err)
				}
			}
		}
	})
	return nil
}
