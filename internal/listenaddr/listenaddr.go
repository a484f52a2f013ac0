// Package listenaddr checks the address one of vmstorm's servers (the
// metrics' and the game day's) is asked to listen on, before anything
// listens, so that both refuse the same addresses with the same words.
package listenaddr

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Check reports what is wrong with addr as an address to listen on, or nil.
// It must be host:port. The host must be an IP address or "localhost":
// 127.0.0.1 serves this machine only, and 0.0.0.0 (or [::], or one
// interface's IP) is how a person asks on purpose to serve the network. An
// empty host, as in ":9090", means every interface to net.Listen, and is
// refused: a server on every interface should never happen by leaving out
// "127.0.0.1". Other host names are refused too, since what they resolve to
// is not known here, and a server's check of the Host header answers to
// the address it listens on. The port must be a number from 0 to 65535; 0
// picks a free one. The error, one line, begins with addr quoted and gives
// an example at port (the server's usual one).
func Check(addr string, port int) error {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port, such as 127.0.0.1:%d (port 0: any free one)", addr, port)
	}
	if _, err := strconv.ParseUint(p, 10, 16); err != nil {
		return fmt.Errorf("%q: want a port number from 0 to 65535, such as 127.0.0.1:%d", addr, port)
	}
	switch _, ipErr := netip.ParseAddr(host); {
	case host == "":
		return fmt.Errorf("%q would listen on every interface: give 127.0.0.1:%s for this machine only, or 0.0.0.0:%s to serve the network on purpose", addr, p, p)
	case strings.EqualFold(host, "localhost"), ipErr == nil:
		return nil
	default:
		return fmt.Errorf("%q: want an IP address or localhost as the host, such as 127.0.0.1:%s", addr, p)
	}
}
