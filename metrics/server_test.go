package metrics

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noHost stands for a request without a Host header (HTTP/1.0).
const noHost = "\x00none"

// getWithHost sends GET path to addr over a connection of its own, with the
// Host header exactly as given (none for noHost), and returns the status
// and the body.
func getWithHost(t *testing.T, addr, host, path string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
	if host == noHost {
		req = "GET " + path + " HTTP/1.0\r\n\r\n"
	}
	_, err = io.WriteString(conn, req)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestLoopbackAnswersOnlyLoopbackHosts: on a loopback listener, a request
// whose Host names anything but loopback gets 421, for the metrics, the
// profiles and the paths that do not exist alike; {port} in a Host is the
// listener's port.
func TestLoopbackAnswersOnlyLoopbackHosts(t *testing.T) {
	srv := serve(t, NewExporter(1), WithPprof(true))
	_, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:{port}", true},
		{"127.0.0.1", true},
		{"localhost:{port}", true},
		{"localhost", true},
		{"LocalHost:{port}", true},
		{"127.0.0.2:{port}", true},
		{"127.255.255.254", true},
		{"[::1]:{port}", true},
		{"[::1]", true},
		{"::1", true},
		{"[::ffff:127.0.0.1]:{port}", true},
		{"127.0.0.1:1234", true}, // another port on this machine: not a rebinding

		{"evil.example", false},
		{"evil.example:{port}", false},
		{"localhost.evil.example:{port}", false},
		{"127.0.0.1.evil.example:{port}", false},
		{"evillocalhost", false},
		{"0.0.0.0:{port}", false},
		{"192.168.1.20:{port}", false},
		{"[::2]:{port}", false},
		{"0x7f.0.0.1:{port}", false},
		{"[::1%25lo]:{port}", false},
		{"", false},
		{noHost, false},
	} {
		host := strings.ReplaceAll(tc.host, "{port}", port)
		t.Run(fmt.Sprintf("%q", host), func(t *testing.T) {
			for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline", "/nothing"} {
				status, body := getWithHost(t, srv.Addr(), host, path)
				switch {
				case !tc.ok:
					assert.Equal(t, http.StatusMisdirectedRequest, status, "%s", path)
					assert.Contains(t, body, "does not name this machine", "%s", path)
					assert.Contains(t, body, "http://"+srv.Addr()+"/", "%s: says where to ask", path)
				case path == "/nothing":
					assert.Equal(t, http.StatusNotFound, status, "%s", path)
				default:
					assert.Equal(t, http.StatusOK, status, "%s", path)
				}
			}
		})
	}
}

// TestGivenHostIsAnswered: the host named in the address given to Serve is
// answered, whatever else the table above says.
func TestGivenHostIsAnswered(t *testing.T) {
	for _, tc := range []struct {
		host, given string
		ok          bool
	}{
		{"localhost:9090", "localhost", true},
		{"[0:0:0:0:0:0:0:1]:9090", "::1", true},
		{"[::1]:9090", "0:0:0:0:0:0:0:1", true},
		{"127.0.0.3:9090", "127.0.0.3", true},
		{"evil.example:9090", "127.0.0.1", false},
		{"", "localhost", false},
	} {
		t.Run(tc.host+" given "+tc.given, func(t *testing.T) {
			assert.Equal(t, tc.ok, loopbackHost(tc.host, tc.given))
		})
	}
}

// TestNetworkListenerAnswersAnyHost: an address that serves the network,
// asked for on purpose, keeps answering whatever the Host, as before.
func TestNetworkListenerAnswersAnyHost(t *testing.T) {
	srv, err := Serve(t.Context(), "0.0.0.0:0", NewExporter(1))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
	_, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	for _, host := range []string{"evil.example", "localhost:" + port, "192.168.1.20:" + port} {
		t.Run(host, func(t *testing.T) {
			status, body := getWithHost(t, net.JoinHostPort("127.0.0.1", port), host, "/metrics")
			assert.Equal(t, http.StatusOK, status)
			assert.Contains(t, body, "vmstorm_model_speed")
		})
	}
}
