package ui

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

var (
	// inlineScript is a <script> element without a src (CSP default-src
	// 'self' refuses its code).
	inlineScript = regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>`)
	srcAttr      = regexp.MustCompile(`(?i)\ssrc=`)
	// inlineHandler and inlineStyle are attributes CSP refuses too.
	inlineHandler = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+=`)
	inlineStyle   = regexp.MustCompile(`(?i)<[^>]+\sstyle=|<style[\s>]`)
	// refs are the files an HTML file loads, and the modules a script
	// imports (statically or dynamically).
	htmlRef   = regexp.MustCompile(`(?i)(?:src|href)="(/[^"#?]*)"`)
	importRef = regexp.MustCompile(`(?:from\s+|import\()"(\.{1,2}/[^"]+)"`)
	remoteURL = regexp.MustCompile(`(?i)https?://`)
)

// TestFilesObeyTheContentPolicy: the pages run under CSP default-src
// 'self' with no build step and nothing from the network: no inline script,
// handler or style; no URL to another site (the SVG namespace aside); every
// file a page loads and every module a script imports is in the UI.
func TestFilesObeyTheContentPolicy(t *testing.T) {
	files := FS()
	for _, need := range []string{"index.html", "login.html"} {
		if _, err := fs.Stat(files, need); err != nil {
			t.Fatalf("%s: %v", need, err)
		}
	}
	n := 0
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		src := string(b)
		for _, at := range remoteURL.FindAllStringIndex(src, -1) {
			if rest := src[at[0]:]; !strings.HasPrefix(rest, "http://www.w3.org/2000/svg") {
				t.Errorf("%s names another site (%.40s): the UI loads nothing from the network", p, rest)
			}
		}
		switch path.Ext(p) {
		case ".html":
			for _, tag := range inlineScript.FindAllString(src, -1) {
				if !srcAttr.MatchString(tag) {
					t.Errorf("%s: an inline script %q (CSP refuses it)", p, tag)
				}
			}
			if m := inlineHandler.FindString(src); m != "" {
				t.Errorf("%s: an inline event handler in %q", p, m)
			}
			if m := inlineStyle.FindString(src); m != "" {
				t.Errorf("%s: an inline style in %q", p, m)
			}
			for _, m := range htmlRef.FindAllStringSubmatch(src, -1) {
				ref := strings.TrimPrefix(m[1], "/")
				if ref == "login" || ref == "logout" {
					continue // the server's routes
				}
				if _, err := fs.Stat(files, ref); err != nil {
					t.Errorf("%s loads %s, which is not in the UI", p, m[1])
				}
			}
		case ".js":
			for _, m := range importRef.FindAllStringSubmatch(src, -1) {
				ref := path.Join(path.Dir(p), m[1])
				if _, err := fs.Stat(files, ref); err != nil {
					t.Errorf("%s imports %s (%s), which is not in the UI", p, m[1], ref)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d files in the UI", n)
	}
}
