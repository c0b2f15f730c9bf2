package main

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/switchboard/turnrelay"
)

// turnSecretFile holds the secret TURN credentials are derived from, created on first use.
const turnSecretFile = "turn-secret"

// startRelay starts the TURN relay when -turn-listen asks for it; nil when it does not.
func startRelay(listen, tlsListen, publicIP, host string, cert *tls.Certificate, ttl time.Duration, stateDir string, clock clockwork.Clock, log *slog.Logger) (*turnrelay.Server, error) {
	if listen == "" {
		if tlsListen != "" {
			return nil, errors.New("-turn-tls-listen needs -turn-listen: TLS is the relay's last resort, after UDP and TCP")
		}
		return nil, nil
	}
	if tlsListen != "" && cert == nil {
		return nil, errors.New("-turn-tls-listen: TURN over TLS serves the switchboard's certificate; serve with -tls-cert or -tls-lan")
	}
	ip, err := netip.ParseAddr(publicIP)
	if err != nil || ip.IsUnspecified() {
		return nil, fmt.Errorf("-turn-public-ip %q: the address the parties reach the relay at is required with -turn-listen (an IP address, not a name)", publicIP)
	}
	secret, err := loadTURNSecret(filepath.Join(stateDir, turnSecretFile))
	if err != nil {
		return nil, err
	}
	creds, err := turnrelay.NewCredentials(secret, ttl, clock)
	if err != nil {
		return nil, fmt.Errorf("-turn-ttl: %w", err)
	}
	return turnrelay.Listen(turnrelay.Config{Listen: listen, PublicIP: ip, Host: host, TLSListen: tlsListen, TLSCertificate: cert}, creds, log)
}

// loadTURNSecret reads the TURN secret, making one the first time.
func loadTURNSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < turnrelay.MinSecretBytes {
			return nil, fmt.Errorf("TURN secret %s: %d bytes, want %d; delete it and a new one is made", path, len(b), turnrelay.MinSecretBytes)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("TURN secret: %w", err)
	}
	b = make([]byte, turnrelay.MinSecretBytes)
	rand.Read(b)
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("TURN secret: %w", err)
	}
	return b, nil
}
