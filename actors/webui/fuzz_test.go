package webui

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzParseHash: a configured password_hash never panics the parser, its
// errors are fixed texts (never the value: a secret), and what it accepts
// is in bounds.
func FuzzParseHash(f *testing.F) {
	f.Add("pbkdf2-sha256:10000:73616c7473616c74:f00b02e07ff5e3b94594410c0a72f524cce210859a486bd72c1ee333830825a3")
	f.Add("pbkdf2-sha256:99999999999999999999:00:00")
	f.Add(":::")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			for _, fixed := range []string{`want "pbkdf2-sha256:`, "iterations must be", "salt must be", "hash must be"} {
				if strings.HasPrefix(err.Error(), fixed) {
					return // a fixed text: nothing of the value
				}
			}
			t.Fatalf("error %q", err)
		}
		if h.iterations < minIterations || h.iterations > maxIterations || len(h.key) != hashBytes {
			t.Fatalf("accepted %q: %+v", s, h)
		}
	})
}

// FuzzSameOrigin: only an Origin naming exactly this host is same-origin.
func FuzzSameOrigin(f *testing.F) {
	f.Add("http://127.0.0.1:8080", "")
	f.Add("null", "cross-site")
	f.Add("", "same-origin")
	f.Add("http://127.0.0.1:8080.evil", "")
	f.Fuzz(func(t *testing.T, origin, site string) {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/login", nil)
		r.Host = "127.0.0.1:8080"
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		ok := sameOrigin(r)
		if r.Header.Get("Origin") != "" && ok && !strings.EqualFold(strings.TrimSuffix(r.Header.Get("Origin"), "/"), "http://127.0.0.1:8080") {
			t.Fatalf("origin %q accepted", r.Header.Get("Origin"))
		}
	})
}
