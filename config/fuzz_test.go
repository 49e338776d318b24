package config

import "testing"

// FuzzLoad feeds arbitrary TOML to the parser and the builder over the
// embedded defaults: no panic, every problem has a message, and a config
// that loads survives Redacted, Diff and Get.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("[daemon]\nnode = \"n1\"\nshutdown_timeout = \"3s\"\n"))
	f.Add([]byte("[daemon.ipc]\nmax_connections = 0\nidle_timeout = 5\n[[daemon.bus]]\nx = 1\n"))
	f.Add([]byte("daemon.logging = { level = \"debug\", file = [1, 2] }\n"))
	f.Add([]byte("[daemon\n=\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		embedded, _ := parseFile(embeddedName, defaultsTOML)
		ft, probs := parseFile("fuzz.toml", data)
		if ft == nil {
			if len(probs) == 0 {
				t.Fatal("no tree and no problem")
			}
			return
		}
		cfg, _, probs := build([][]*fileTree{{embedded}, {ft}})
		if len(probs) == 0 {
			// A config that loads must survive the other entry points.
			_ = cfg.Redacted()
			_ = Diff(Default(), cfg)
			_, _ = cfg.Get("daemon.ipc.auth_token")
		}
		for _, p := range probs {
			if p.Msg == "" {
				t.Fatalf("empty problem: %+v", p)
			}
		}
	})
}
