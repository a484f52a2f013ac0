package gameday

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"vmstorm/incident"
	"vmstorm/internal/format"
	"vmstorm/internal/listenaddr"
)

//go:embed page.html
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// Server serves one game to browsers: the page, its state, and the
// player's requests. Every request must name a Host the server listens on
// (no DNS rebinding) and carry the game's token (in the URL the server
// prints, and in a header on every request that changes anything); an
// action needs as well the seat that holds the controls.
type Server struct {
	game  *Game
	token string
	hosts map[string]bool
	ln    net.Listener
	srv   *http.Server
	done  chan error
}

// NewToken is a new game's token: 128 random bits, in hex.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}

// Port is the game day's usual port, the example in an address's error.
const Port = 8080

// Listen listens on addr for the game g, with token: call Serve to serve.
// Its error says what is wrong with addr and what would do.
func Listen(g *Game, addr, token string) (*Server, error) {
	if err := listenaddr.Check(addr, Port); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		why := err
		var se *os.SyscallError
		if errors.As(err, &se) {
			why = se.Err // "address already in use", without "listen tcp ...: bind:"
		}
		return nil, fmt.Errorf("%q: %v: want a free port on an address of this machine, e.g. 127.0.0.1:0 (port 0: any free one)", addr, why)
	}
	s := NewServer(g, token, ln.Addr().String())
	s.ln = ln
	return s, nil
}

// NewServer is the server of game g, with token, answering to requests
// whose Host is addr (and, for a loopback address, localhost at its port).
func NewServer(g *Game, token, addr string) *Server {
	s := &Server{game: g, token: token, hosts: map[string]bool{addr: true}, done: make(chan error, 1)}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			s.hosts[net.JoinHostPort("localhost", port)] = true
			s.hosts[net.JoinHostPort("127.0.0.1", port)] = true
			s.hosts[net.JoinHostPort("::1", port)] = true
		}
	}
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the game's page, with its token.
func (s *Server) URL() string { return "http://" + s.Addr() + "/?token=" + s.token }

// Serve serves until Close.
func (s *Server) Serve() {
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { s.done <- s.srv.Serve(s.ln) }()
}

// Close stops serving and waits for the server's goroutine.
func (s *Server) Close() error {
	if s.srv == nil {
		return s.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Handler is the server's routes, each behind the Host and token checks.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /api/state", s.state)
	mux.HandleFunc("GET /api/export", s.export)
	mux.HandleFunc("POST /api/claim", s.claim)
	mux.HandleFunc("POST /api/act", s.act)
	mux.HandleFunc("POST /api/investigate", s.investigate)
	mux.HandleFunc("POST /api/control", s.control)
	return s.guard(mux)
}

// guard refuses a request whose Host the server does not answer to (DNS
// rebinding: a page of another site whose name now points here), or that
// does not carry the game's token: in the query for a GET, in the
// X-Gameday-Token header (which no other site's page can send without
// this server's leave, which it never gives) for the rest. A request let
// through counts as a browser heard from.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts[r.Host] {
			http.Error(w, "unknown host "+r.Host+": open the address vmstorm printed", http.StatusMisdirectedRequest)
			return
		}
		got := r.URL.Query().Get("token")
		if r.Method != http.MethodGet {
			got = r.Header.Get("X-Gameday-Token")
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				http.Error(w, "want a JSON body (Content-Type: application/json)", http.StatusUnsupportedMediaType)
				return
			}
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			http.Error(w, "no token, or not this game's: open the address vmstorm printed", http.StatusForbidden)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		s.game.Touch()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Nothing but this page's own script, style and images: no request
	// leaves the machine.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
	_ = page.Execute(w, struct{ Token string }{s.token})
}

// seat is the request's seat, if it holds the controls.
func (s *Server) seat(r *http.Request) (string, bool) {
	seat := r.Header.Get("X-Gameday-Seat")
	if seat == "" {
		seat = r.URL.Query().Get("seat")
	}
	return seat, s.game.Holds(seat)
}

// seated is the request's seat, if it holds the controls; if not, it
// refuses the request.
func (s *Server) seated(w http.ResponseWriter, r *http.Request) (string, bool) {
	seat, ok := s.seat(r)
	if !ok {
		http.Error(w, "this screen does not hold the controls: take them first", http.StatusForbidden)
	}
	return seat, ok
}

func (s *Server) claim(w http.ResponseWriter, r *http.Request) {
	seat := NewToken()
	if err := s.game.Claim(seat); err != nil {
		refuse(w, err)
		return
	}
	writeJSON(w, map[string]string{"seat": seat})
}

// decode reads a request's JSON body, of at most 4 kB, strictly.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// refuse answers a request the game refused, in one line.
func refuse(w http.ResponseWriter, err error) {
	code := http.StatusUnprocessableEntity
	if errors.Is(err, ErrEnded) || errors.Is(err, ErrInvestigating) {
		code = http.StatusConflict
	}
	http.Error(w, err.Error(), code)
}

// ActRequest is an action as the page sends it.
type ActRequest struct {
	Action string        `json:"action"`
	Args   incident.Args `json:"args"`
}

func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	seat, ok := s.seated(w, r)
	if !ok {
		return
	}
	var req ActRequest
	if !decode(w, r, &req) {
		return
	}
	at, err := s.game.Act(incident.Event{Action: req.Action, Args: req.Args}, seat)
	if err != nil {
		refuse(w, err)
		return
	}
	writeJSON(w, map[string]any{"taken": at, "clock": format.ModelTime(s.game.cfg.Epoch, at)})
}

func (s *Server) investigate(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.seated(w, r); !ok {
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := s.game.Investigate(req.Name); err != nil {
		refuse(w, err)
		return
	}
	writeJSON(w, map[string]string{"ok": req.Name})
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.seated(w, r); !ok {
		return
	}
	var c Control
	if !decode(w, r, &c) {
		return
	}
	if err := s.game.Control(c); err != nil {
		refuse(w, err)
		return
	}
	writeJSON(w, map[string]string{"ok": c.Op})
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	b, err := s.game.Export()
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Disposition", `attachment; filename="`+s.game.opt.Scenario.Name+`-gameday.yaml"`)
	_, _ = w.Write(b)
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	seat, holds := s.seat(r)
	var from int
	_, _ = fmt.Sscanf(r.URL.Query().Get("from"), "%d", &from)
	writeJSON(w, s.game.State(seat, holds, from))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
