package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vmstorm/internal/listenaddr"
)

// shutdownTimeout bounds how long Stop waits for requests in progress
// before it closes their connections.
const shutdownTimeout = 5 * time.Second

// Port is the metrics' usual port, the example in an address's error.
const Port = 9090

// Option changes what Serve serves.
type Option func(*serveOptions)

type serveOptions struct {
	pprof bool
}

// WithPprof serves the Go runtime's profiles under /debug/pprof/ as well, if
// on. They show the process's command line, heap and goroutines and can
// trace it, so they are off unless asked for: without this option,
// /debug/pprof/ is 404 Not Found.
func WithPprof(on bool) Option {
	return func(o *serveOptions) { o.pprof = on }
}

// Server serves an exporter's /metrics, and /debug/pprof/ if asked for, over
// HTTP.
type Server struct {
	srv      *http.Server
	addr     net.Addr
	stopping chan struct{} // closed by Stop
	stopOnce sync.Once
	wg       sync.WaitGroup

	// Set by the server's goroutines before they end; read after wg.Wait.
	serveErr, shutdownErr error
}

// Serve listens on addr, which must pass listenaddr.Check, and serves e's
// /metrics until ctx is done or Stop is called; WithPprof(true) adds the
// profiles. It returns once it is listening, so a bad or busy address is its
// error, and Addr is the address bound (port 0 picks one). The caller must
// call Stop, even after ctx is done, to wait for the server's goroutines.
//
// On a loopback address the server answers only requests whose Host header
// names this machine's loopback (see loopbackHost), and every other request
// gets 421 Misdirected Request: a web page whose own name an attacker
// rebinds to 127.0.0.1 (DNS rebinding) sends its own name as the Host, and
// so cannot read the metrics or the profiles. An address that serves the
// network, such as 0.0.0.0:9090, was asked for on purpose and answers
// whatever the Host.
func Serve(ctx context.Context, addr string, e *Exporter, opts ...Option) (*Server, error) {
	if err := listenaddr.Check(addr, Port); err != nil {
		return nil, err
	}
	var o serveOptions
	for _, opt := range opts {
		opt(&o)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}

	// The profiles are on this server's own mux: importing net/http/pprof
	// also registers them on http.DefaultServeMux, which nothing serves.
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.Registry(), promhttp.HandlerOpts{}))
	if o.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	given, _, _ := net.SplitHostPort(addr) // listenaddr.Check has split it

	// Requests' contexts end when the server stops, so that a CPU profile
	// or trace asked for 30 s ends at once instead of holding up Shutdown.
	base, cancelBase := context.WithCancel(ctx)
	s := &Server{
		srv: &http.Server{
			Handler:           guardHost(ln.Addr(), given, mux),
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		addr:     ln.Addr(),
		stopping: make(chan struct{}),
	}
	s.wg.Go(func() { s.serveErr = s.srv.Serve(ln) })
	s.wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-s.stopping:
		}
		cancelBase()
		s.shutdownErr = s.shutdown()
	})
	return s, nil
}

// Addr is the address the server listens on, such as 127.0.0.1:43127.
func (s *Server) Addr() string { return s.addr.String() }

// Stop shuts the server down, if ctx has not already, and waits for its
// goroutines. It returns what went wrong serving or shutting down; calling
// it again returns the same.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.wg.Wait()
	serveErr := s.serveErr
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil // what Serve returns after a Shutdown
	}
	return errors.Join(serveErr, s.shutdownErr)
}

// shutdown closes the listener and waits for requests in progress, and
// closes their connections if they take longer than shutdownTimeout.
func (s *Server) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("metrics: shutdown: %w", err), s.srv.Close())
	}
	return err
}

// guardHost answers requests to a listener on a loopback address only when
// their Host names loopback or the host given to Serve, and with 421
// Misdirected Request otherwise. A listener on any other address gets next
// as it is.
func guardHost(ln net.Addr, given string, next http.Handler) http.Handler {
	tcp, ok := ln.(*net.TCPAddr)
	if !ok {
		return next
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok || !ip.Unmap().IsLoopback() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host, given) {
			http.Error(w, fmt.Sprintf("vmstorm metrics: Host %q does not name this machine; ask for http://%s/", r.Host, ln),
				http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a request's Host header, with or without a
// port, names this machine's loopback: localhost, an address in
// 127.0.0.0/8, ::1 (bracketed or not), or the host given to Serve. Names are
// compared without regard to case, as DNS does; an empty Host (HTTP/1.0)
// names nothing.
func loopbackHost(host, given string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		name = host[1 : len(host)-1]
	}
	if name == "" {
		return false
	}
	if strings.EqualFold(name, "localhost") || strings.EqualFold(name, given) {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}
