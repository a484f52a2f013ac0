package gameday_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/gameday"
)

const (
	addr  = "127.0.0.1:4242"
	token = "0123456789abcdef0123456789abcdef"
)

// request is one request to the server, as a browser would send it.
type request struct {
	method, path, host, token, seat, contentType, body string
}

func (r request) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	req.Host = r.host
	if r.method != http.MethodGet {
		req.Header.Set("X-Gameday-Token", r.token)
	} else if r.token != "" {
		q := req.URL.Query()
		q.Set("token", r.token)
		req.URL.RawQuery = q.Encode()
	}
	if r.seat != "" {
		req.Header.Set("X-Gameday-Seat", r.seat)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// claim takes the controls with the game's token and gives the seat.
func claim(t *testing.T, h http.Handler) string {
	t.Helper()
	w := request{"POST", "/api/claim", addr, token, "", "application/json", "{}"}.do(t, h)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var v struct{ Seat string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	require.NotEmpty(t, v.Seat)
	return v.Seat
}

// TestRequestsWithoutTheGamesLeaveActOnNothing: each request differs from
// one the game accepts in one thing (a foreign Host, no token, a wrong
// token, no seat, another seat, a form's content type); it is refused,
// and the game's actions, timeline and clock are as they were. The same
// request with nothing changed is accepted, so that each refusal is the
// one thing's.
func TestRequestsWithoutTheGamesLeaveActOnNothing(t *testing.T) {
	g, err := gameday.New(gameday.Options{Scenario: small(t, 7), Start: 30 * time.Minute})
	require.NoError(t, err)
	h := gameday.NewServer(g, token, addr).Handler()
	seat := claim(t, h)
	before := g.Timeline()
	state := func() gameday.State { return g.State(seat, true, 0) }
	was := state()

	valid := map[string]request{
		"act":         {"POST", "/api/act", addr, token, seat, "application/json", `{"action":"pause_builds","args":{"queue":"all"}}`},
		"control":     {"POST", "/api/control", addr, token, seat, "application/json", `{"op":"finish"}`},
		"investigate": {"POST", "/api/investigate", addr, token, seat, "application/json", `{"name":"count_vms"}`},
		"claim":       {"POST", "/api/claim", addr, token, "", "application/json", `{}`},
		"state":       {"GET", "/api/state", addr, token, seat, "", ""},
		"page":        {"GET", "/", addr, token, "", "", ""},
	}
	changes := []struct {
		name   string
		change func(*request)
		code   int
		seated bool // only the requests that need the seat are refused
	}{
		{"foreign host", func(r *request) { r.host = "evil.example:4242" }, http.StatusMisdirectedRequest, false},
		{"rebound name at the port", func(r *request) { r.host = "attacker.localhost.example:4242" }, http.StatusMisdirectedRequest, false},
		{"another port", func(r *request) { r.host = "127.0.0.1:80" }, http.StatusMisdirectedRequest, false},
		{"no token", func(r *request) { r.token = "" }, http.StatusForbidden, false},
		{"wrong token", func(r *request) { r.token = strings.Repeat("0", len(token)) }, http.StatusForbidden, false},
		{"a form, not JSON", func(r *request) {
			if r.method != "GET" {
				r.contentType = "application/x-www-form-urlencoded"
			}
		}, http.StatusUnsupportedMediaType, false},
		{"no seat", func(r *request) { r.seat = "" }, http.StatusForbidden, true},
		{"another seat", func(r *request) { r.seat = "not-the-seat" }, http.StatusForbidden, true},
	}
	for _, c := range changes {
		for name, r := range valid {
			if c.seated && (name == "claim" || name == "state" || name == "page") {
				continue
			}
			if c.name == "a form, not JSON" && r.method == "GET" {
				continue
			}
			c.change(&r)
			w := r.do(t, h)
			assert.Equal(t, c.code, w.Code, "%s: %s: %s", c.name, name, w.Body.String())
			assert.Equal(t, before, g.Timeline(), "%s: %s", c.name, name)
			assert.Empty(t, g.Actions(), "%s: %s", c.name, name)
			now := state()
			assert.Equal(t, was.Finishing, now.Finishing, "%s: %s", c.name, name)
			assert.Equal(t, was.Investigating, now.Investigating, "%s: %s", c.name, name)
			assert.Equal(t, "you", now.Controls, "%s: %s: the seat still holds the controls", c.name, name)
		}
	}

	// The same requests, unchanged, are the game's.
	for _, name := range []string{"state", "page", "act", "investigate", "control"} {
		w := valid[name].do(t, h)
		assert.Equal(t, http.StatusOK, w.Code, "%s: %s", name, w.Body.String())
	}
	assert.Len(t, g.Actions(), 1, "the valid action was taken")
	assert.True(t, state().Finishing, "the valid control was applied")
}

// TestActionsAfterTheEndAreRefused plays a game to its end, then sends a
// valid action: it is refused, and the run's timeline is unchanged.
func TestActionsAfterTheEndAreRefused(t *testing.T) {
	g, err := gameday.New(gameday.Options{Scenario: small(t, 7), Start: 30 * time.Minute, Pace: -1, Idle: time.Minute})
	require.NoError(t, err)
	h := gameday.NewServer(g, token, addr).Handler()
	seat := claim(t, h)
	_, stop := running(t, g)
	act := request{"POST", "/api/act", addr, token, seat, "application/json", `{"action":"pause_builds","args":{"queue":"org"}}`}
	require.Equal(t, http.StatusOK, act.do(t, h).Code)
	require.Equal(t, http.StatusOK, request{"POST", "/api/control", addr, token, seat, "application/json", `{"op":"resume"}`}.do(t, h).Code)
	<-g.Ended()
	tl := g.Timeline()
	require.Len(t, g.Actions(), 1)
	for _, r := range []request{act,
		{"POST", "/api/investigate", addr, token, seat, "application/json", `{"name":"count_vms"}`},
		{"POST", "/api/control", addr, token, seat, "application/json", `{"op":"resume"}`},
	} {
		w := r.do(t, h)
		assert.Equal(t, http.StatusConflict, w.Code, w.Body.String())
		assert.Contains(t, w.Body.String(), "the game has ended")
	}
	w := request{"POST", "/api/claim", addr, token, "", "application/json", `{}`}.do(t, h)
	assert.Equal(t, http.StatusConflict, w.Code, "no controls to take after the end: %s", w.Body.String())
	assert.True(t, g.Holds(seat), "the seat that held the controls keeps them")
	assert.Equal(t, tl, g.Timeline())
	assert.Len(t, g.Actions(), 1)
	_, err = g.Export()
	assert.NoError(t, err, "the run is over: it exports")
	assert.NoError(t, stop())
}

// TestIdleGameEnds: a game no browser asks about ends after its idle
// timeout, on testing/synctest's clock: the model stops where it was, and
// Run says why. A browser heard from keeps it going.
func TestIdleGameEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := gameday.New(gameday.Options{Scenario: small(t, 7), Start: 30 * time.Minute, Pace: time.Minute, Idle: 10 * time.Second})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { _, err := g.Run(t.Context()); done <- err }()
		require.NoError(t, g.Control(gameday.Control{Op: "resume"}))
		for range 5 { // 25 s of browser polls: more than the timeout, less than the game
			time.Sleep(5 * time.Second)
			g.Touch()
		}
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("the game ended with a browser polling: %v", err)
		default:
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		var err2 error
		select {
		case err2 = <-done:
		default:
			t.Fatal("the game still runs 11 s after the last request, with an idle timeout of 10 s")
		}
		require.Error(t, err2)
		assert.True(t, errors.Is(err2, gameday.ErrIdle) || strings.Contains(err2.Error(), gameday.ErrIdle.Error()), err2.Error())
		st := g.State("", false, 0)
		assert.Less(t, st.Held, st.End, "abandoned before the model's end")
		assert.Greater(t, st.Held, st.Start, "it had begun")
	})
}
