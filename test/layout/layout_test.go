// Package layout holds the test that keeps the README's layout section true to the code.
package layout

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/kubectl-iomesh/kubectl-iomesh/"

// The README lists every package of cmd/ and pkg/ with its package comment's synopsis, in the
// order `go list` gives, and nothing else.
func TestReadmeLayout(t *testing.T) {
	root := filepath.Join("..", "..")
	// go test puts its own toolchain first on PATH.
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{.Doc}}|{{.Dir}}|{{join .GoFiles \",\"}}", "./cmd/...", "./pkg/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 4)
		if len(f) != 4 {
			t.Fatalf("go list: %q", line)
		}
		path, doc := f[0], f[1]
		// Read the sources too, so that go test's cache knows this result depends on them.
		for _, name := range strings.Split(f[3], ",") {
			if _, err := os.ReadFile(filepath.Join(f[2], name)); err != nil {
				t.Fatal(err)
			}
		}
		if doc == "" {
			t.Errorf("%s has no package comment", path)
		}
		want = append(want, "- `"+strings.TrimPrefix(path, module)+"`: "+doc)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no Layout section")
	}
	var got []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if strings.HasPrefix(line, "- `") {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md's Layout lists\n%s\nwant (from go list)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(string(readme), "\n"); n > 200 {
		t.Errorf("README.md has %d lines: keep it to 200, the rest goes to docs/", n)
	}
}
