package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds how long Stop waits for requests in progress
// before it closes their connections.
const shutdownTimeout = 5 * time.Second

// CheckAddr checks a host:port to serve on. The host must be a loopback IP,
// "localhost", or an IP given explicitly: 127.0.0.1:9090 serves this machine
// only, and 0.0.0.0:9090 (or [::]:9090, or one interface's IP) is how a
// person asks on purpose to serve the network. An empty host, as in ":9090",
// means every interface to net.Listen, and is refused: /debug/pprof on every
// interface should never happen by leaving out "127.0.0.1". Other host
// names are refused too, since what they resolve to is not known here. The
// port must be a number; 0 picks a free one.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics address %q: want host:port, such as 127.0.0.1:9090", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("metrics address %q: want a port number from 0 to 65535, such as 127.0.0.1:9090", addr)
	}
	switch _, ipErr := netip.ParseAddr(host); {
	case host == "":
		return fmt.Errorf("metrics address %q would listen on every interface: give 127.0.0.1:%s for this machine only, or 0.0.0.0:%s to serve the network on purpose", addr, port, port)
	case strings.EqualFold(host, "localhost"), ipErr == nil:
		return nil
	default:
		return fmt.Errorf("metrics address %q: want an IP address or localhost as the host, such as 127.0.0.1:%s", addr, port)
	}
}

// Server serves an exporter's /metrics, and /debug/pprof/, over HTTP.
type Server struct {
	srv      *http.Server
	addr     net.Addr
	stopping chan struct{} // closed by Stop
	stopOnce sync.Once
	wg       sync.WaitGroup

	// Set by the server's goroutines before they end; read after wg.Wait.
	serveErr, shutdownErr error
}

// Serve listens on addr, which must pass CheckAddr, and serves e until ctx
// is done or Stop is called. It returns once it is listening, so a bad or
// busy address is its error, and Addr is the address bound (port 0 picks
// one). The caller must call Stop, even after ctx is done, to wait for the
// server's goroutines.
func Serve(ctx context.Context, addr string, e *Exporter) (*Server, error) {
	if err := CheckAddr(addr); err != nil {
		return nil, err
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
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	// Requests' contexts end when the server stops, so that a CPU profile
	// or trace asked for 30 s ends at once instead of holding up Shutdown.
	base, cancelBase := context.WithCancel(ctx)
	s := &Server{
		srv: &http.Server{
			Handler:           mux,
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
