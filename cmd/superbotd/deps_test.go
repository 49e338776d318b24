package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTemplateInTheDaemon: built as `make build` builds it (-tags
// grpcnotrace), the daemon links no text/template. Its MethodByName makes
// the linker keep every exported method of every type that reaches an
// interface: 10 MB more code, about 3 MiB more resident memory per daemon.
// Write HTML with html.EscapeString instead (actors/reports/render.go).
func TestNoTemplateInTheDaemon(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "grpcnotrace", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "text/template" || pkg == "html/template" {
			t.Errorf("superbotd links %s; who imports it: go list -tags grpcnotrace -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/superbotd | grep template", pkg)
		}
	}
}
