package listenaddr

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheck: every address the servers may listen on passes, and every
// other one is refused in one line that says what is wrong.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
		says string // in the error
	}{
		{"127.0.0.1:9090", true, ""},
		{"127.0.0.2:0", true, ""},
		{"localhost:9090", true, ""},
		{"LOCALHOST:9090", true, ""},
		{"[::1]:9090", true, ""},
		{"0.0.0.0:9090", true, ""}, // every interface, asked for explicitly
		{"[::]:9090", true, ""},
		{"192.168.1.20:9090", true, ""},
		{":9090", false, "127.0.0.1:9090"},
		{":9090", false, "every interface"},
		{"example.com:9090", false, "127.0.0.1:9090"},
		{"127.0.0.1", false, "host:port"},
		{"9090", false, "host:port"},
		{"", false, "host:port"},
		{"abc", false, `"abc": want host:port, such as 127.0.0.1:9090`},
		{"127.0.0.1:http", false, "port number"},
		{"127.0.0.1:99999", false, "port number"},
		{"127.0.0.1:+80", false, "port number"},
		{"127.0.0.1:65536", false, "port number"},
		{"127.0.0.1:-1", false, "port number"},
	} {
		t.Run(tc.addr+" "+tc.says, func(t *testing.T) {
			err := Check(tc.addr, 9090)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
