package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// listen opens a unixgram socket the way systemd does and points
// NOTIFY_SOCKET at it.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	sockets := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify.sock") }},
		{"abstract", func(*testing.T) string {
			return fmt.Sprintf("@superbot-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
		}},
	}
	states := []string{Ready, Stopping, Reloading, Watchdog, Status("serving 3 modules")}
	for _, s := range sockets {
		t.Run(s.name, func(t *testing.T) {
			conn := listen(t, s.addr(t))
			for _, state := range states {
				if err := Notify(state); err != nil {
					t.Fatalf("Notify(%q): %v", state, err)
				}
				if got := receive(t, conn); got != state {
					t.Errorf("received %q, want %q", got, state)
				}
			}
		})
	}
}

func TestReloadingState(t *testing.T) {
	conn := listen(t, filepath.Join(t.TempDir(), "notify.sock"))
	if err := Notify(ReloadingState()); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, conn); !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=\d+$`).MatchString(got) {
		t.Errorf("received %q", got)
	}
}

func TestNotifyWithoutSocket(t *testing.T) {
	tests := []struct {
		name, socket string
		wantErr      bool
	}{
		{"unset is a no-op", "", false},
		{"missing socket is an error", filepath.Join(t.TempDir(), "gone.sock"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", tt.socket)
			if err := Notify(Ready); (err != nil) != tt.wantErr {
				t.Errorf("Notify = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
