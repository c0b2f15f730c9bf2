package site

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/carebooth/carebooth/provisioning/discovery"
)

// Paths served.
const (
	// PathDevice answers the device's own record, authenticated by its certificate.
	PathDevice = "/site/v1/device"
)

// Server is a device's listener for the other devices of its site.
type Server struct {
	creds  Credentials
	status func() discovery.Record
	log    *slog.Logger
	srv    *http.Server
}

// NewServer returns a server that answers with status, the device's record now.
func NewServer(creds Credentials, status func() discovery.Record, log *slog.Logger) (*Server, error) {
	if _, err := creds.ID(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{creds: creds, status: status, log: log.With("component", "site")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathDevice, s.device)
	s.srv = &http.Server{
		Handler: mux, TLSConfig: creds.serverTLS(),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		IdleTimeout: time.Minute, MaxHeaderBytes: 8 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug), // refused handshakes are the LAN's noise
	}
	return s, nil
}

// Serve answers on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.srv.Shutdown(sctx) //nolint:errcheck // closing
	}()
	err := s.srv.Serve(tls.NewListener(ln, s.srv.TLSConfig))
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("site listener: %w", err)
}

// peerID is the device ID of the request's verified certificate.
func (s *Server) peerID(r *http.Request) (string, bool) {
	if r.TLS == nil {
		return "", false
	}
	id, err := s.creds.check(r.TLS.PeerCertificates)
	return id, err == nil
}

func (s *Server) device(w http.ResponseWriter, r *http.Request) {
	peer, ok := s.peerID(r)
	if !ok {
		http.Error(w, "a device certificate of this site is required", http.StatusUnauthorized)
		return
	}
	rec := s.status()
	s.log.Debug("status asked", "peer", peer)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(rec) //nolint:errchkjson // a Record always encodes
}
