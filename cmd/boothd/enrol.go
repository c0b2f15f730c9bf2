package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/media/prompt"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/switchboard/deviceca"
)

// caFile is where an enrolled device keeps the switchboard CA it pinned.
const caFile = "switchboard-ca.crt"

// enrolment is what a device needs to enrol: where, as whom, and how to show and say
// its activation code.
type enrolment struct {
	base     string // the switchboard's base URL
	pin      string // the CA fingerprint the config pins, or "" to trust on first use
	stateDir string
	name     string
	id       *identity.Identity
	scr      *boothScreen
	say      func(text string) // speaks text when prompts are on
	log      *slog.Logger
	// anyHost: the switchboard was found by mDNS at an address, which its certificate
	// need not name; its chain to the pinned CA (for serving) is what is checked.
	anyHost bool
}

// errPinMismatch is returned when the switchboard's CA is not the one the config pins.
var errPinMismatch = errors.New("the switchboard's device CA is not the one switchboard.ca_fingerprint pins")

// errRefusedAtContact is wrapped when what a switchboard said or showed at the first
// contact was refused: a switchboard found by mDNS is then left out and another looked for.
var errRefusedAtContact = errors.New("switchboard refused at the first contact")

// enrolled returns the HTTP client an enrolled device dials with: its certificate, and
// only the switchboard CA it pinned as a root. A device not yet enrolled enrols first,
// showing its activation code on the screen (and saying it) until IT approves it.
func enrolled(ctx context.Context, e enrolment) (*http.Client, error) {
	base, stateDir, name, id, scr, log := e.base, e.stateDir, e.name, e.id, e.scr, e.log
	cert, err := id.TLSCertificate()
	pool, caDER, perr := readCA(filepath.Join(stateDir, caFile))
	if err == nil && perr == nil {
		if e.pin != "" && deviceca.Fingerprint(caDER) != e.pin {
			return nil, fmt.Errorf("%w: this booth enrolled with the CA %s (in %s), the config pins %s; to move it to another switchboard delete %s and identity.crt there and it enrols again",
				errPinMismatch, deviceca.Fingerprint(caDER), filepath.Join(stateDir, caFile), e.pin, caFile)
		}
		return mtlsClient(cert, pool, e.anyHost), nil
	}
	if !errors.Is(err, identity.ErrNotEnrolled) && err != nil {
		return nil, err
	}
	if perr != nil && !errors.Is(perr, os.ErrNotExist) {
		return nil, perr
	}
	stop := scr.showAlone(ctx, screen.View{Kind: screen.Activation})
	defer stop()

	// Trust on first use: the switchboard's certificate is taken as it comes, recorded,
	// and checked against the CA the approval names, whose fingerprint IT compared with
	// the one on the screen.
	var mu sync.Mutex
	var seen []*x509.Certificate
	tofu := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // checked below, against the CA the approval carries
		VerifyConnection: func(cs tls.ConnectionState) error {
			mu.Lock()
			seen = cs.PeerCertificates
			mu.Unlock()
			return nil
		}}}}
	c := &enrol.Client{BaseURL: httpsURL(base), Key: id.Signer().(ed25519.PrivateKey), HTTP: tofu}
	// A switchboard that names another CA than the pinned one gets no code shown: it is
	// not the site's switchboard, and what it would approve could not be trusted.
	ectx, refuse := context.WithCancelCause(ctx)
	defer refuse(nil)
	st, err := c.Enrol(ectx, enrol.Request{Name: name, Version: version.String()}, func(s enrol.Status) {
		if e.pin != "" && s.CAFingerprint != e.pin {
			refuse(fmt.Errorf("%w: %w: the switchboard at %s names the CA %s, the config pins %s; check switchboard.url and switchboard.ca_fingerprint",
				errRefusedAtContact, errPinMismatch, base, s.CAFingerprint, e.pin))
			return
		}
		log.Info("waiting for IT to approve this device", "code", s.Code, "switchboard_ca", s.CAFingerprint, "expires", s.Expires)
		scr.setView(screen.View{Kind: screen.Activation, ActivationCode: s.Code, Fingerprint: s.CAFingerprint})
		if e.say != nil {
			e.say(prompt.ActivationText(s.Code))
		}
	})
	if cause := context.Cause(ectx); errors.Is(cause, errPinMismatch) {
		return nil, fmt.Errorf("enrol: %w", cause)
	}
	if err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	ca, err := x509.ParseCertificate(st.CA)
	if err != nil || deviceca.Fingerprint(st.CA) != st.CAFingerprint {
		return nil, fmt.Errorf("enrol: %w: the switchboard's approval carries a CA that is not the one whose fingerprint it showed; enrolment refused", errRefusedAtContact)
	}
	if e.pin != "" && st.CAFingerprint != e.pin {
		return nil, fmt.Errorf("enrol: %w: %w: the approval names the CA %s, the config pins %s; enrolment refused", errRefusedAtContact, errPinMismatch, st.CAFingerprint, e.pin)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	mu.Lock()
	chain := seen
	mu.Unlock()
	u, _ := url.Parse(httpsURL(base))
	if len(chain) == 0 {
		return nil, errors.New("enrol: no switchboard certificate was seen")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	host := u.Hostname()
	if e.anyHost {
		host = ""
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: host}); err != nil {
		return nil, fmt.Errorf("enrol: %w: the switchboard's own certificate is not from the CA it named: %w; enrolment refused", errRefusedAtContact, err)
	}
	if err := id.SaveCertificate(st.Chain); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(stateDir, caFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: st.CA}), 0o600); err != nil {
		return nil, fmt.Errorf("enrol: keep the switchboard CA: %w", err)
	}
	log.Info("enrolled", "device", st.DeviceID, "site", st.Site, "room", st.Room, "role", st.Role)
	cert, err = id.TLSCertificate()
	if err != nil {
		return nil, err
	}
	return mtlsClient(cert, pool, e.anyHost), nil
}

// mtlsClient dials the switchboard with the device's certificate, trusting only roots.
// With anyHost the server's name is not checked, only that roots issued its certificate
// for serving: a switchboard found by mDNS is reached at an address its certificate need
// not name, and its CA is the site's own, pinned, issuing for nobody else.
func mtlsClient(cert tls.Certificate, roots *x509.CertPool, anyHost bool) *http.Client {
	c := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}
	if anyHost {
		c.InsecureSkipVerify = true // replaced by the check below, against roots
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the switchboard sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if err != nil {
				return fmt.Errorf("the switchboard's certificate is not from the pinned device CA: %w", err)
			}
			return nil
		}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
}

// enrolledClient is the client of a device already enrolled, for a switchboard found by
// mDNS; an error when it is not enrolled.
func enrolledClient(stateDir string, id *identity.Identity) (*http.Client, error) {
	cert, err := id.TLSCertificate()
	if err != nil {
		return nil, err
	}
	pool, _, err := readCA(filepath.Join(stateDir, caFile))
	if err != nil {
		return nil, err
	}
	return mtlsClient(cert, pool, true), nil
}

// readCA reads the pinned switchboard CA: as a pool, and its DER.
func readCA(path string) (*x509.CertPool, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("pinned switchboard CA %s: not a PEM certificate; delete it and identity.crt to enrol again", path)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("pinned switchboard CA %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, block.Bytes, nil
}

// httpsURL is the switchboard's base URL for HTTP requests (wss:// dials as https://).
func httpsURL(base string) string {
	if rest, ok := strings.CutPrefix(base, "wss://"); ok {
		return "https://" + rest
	}
	return base
}
