package daemon

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/superbot/superbot/runtime/client"
)

// BenchmarkStatusInProcess runs a daemon in this process and calls it over
// its Unix socket with the Go client, one call at a time: the whole path of
// a daemon.status call (client, socket, edge, router, root supervisor and
// back), for profiling. cmd/superbench measures the real process.
func BenchmarkStatusInProcess(b *testing.B) {
	for _, method := range []string{"rpc.methods", "daemon.status"} {
		b.Run(method, func(b *testing.B) {
			dir := b.TempDir()
			wd, _ := os.Getwd()
			if err := os.Chdir(dir); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = os.Chdir(wd) }()
			cfg := filepath.Join(dir, "c.toml")
			port := 20000 + os.Getpid()%20000
			body := fmt.Sprintf("[daemon.logging]\nconsole = false\nfile = \"\"\n[exchange_sim]\nlisten = \"127.0.0.1:%d\"\n", port) + testPorts
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				b.Fatal(err)
			}
			d, err := New(Options{ConfigPath: cfg, Stderr: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Start(); err != nil {
				b.Fatal(err)
			}
			defer d.Shutdown("benchmark done", false)
			c, err := client.Dial(context.Background(), client.Options{StateDir: filepath.Join(dir, ".superbot")})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.Call(context.Background(), method, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
