package cmd

import (
	"strings"
	"testing"

	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func TestCompleteRelease(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: values.Map{}}, {Revision: 2, Values: values.Map{}}})
	out, _, err := runCmd(t, c, "__complete", "status", "--release", "io")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "iomesh" || len(lines) != 2 || !strings.HasPrefix(lines[1], ":") {
		t.Fatalf("completion of --release: %q", out)
	}
	out, _, err = runCmd(t, c, "__complete", "status", "--release", "zz")
	if err != nil || strings.Contains(out, "iomesh") {
		t.Fatalf("prefix not honoured: %q %v", out, err)
	}
}

func TestCompletionScripts(t *testing.T) {
	c := tf.NewClients(t, nil)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, err := runCmd(t, c, "completion", sh)
		if err != nil || len(out) < 100 {
			t.Fatalf("completion %s: %v (%d bytes)", sh, err, len(out))
		}
	}
}
