package cmd

import (
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
)

func TestDryRunForms(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--dry-run"}, exitcode.OK},
		{[]string{"--dry-run=server"}, exitcode.OK},
		{[]string{"--dry-run=client"}, exitcode.OK},
		{[]string{"--dry-run=maybe"}, exitcode.Usage},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			e := newScaleEnv(t, 5, userValues())
			out, _, err := e.run(t, append([]string{"scale", "--chunk", "5"}, tc.args...)...)
			if exitcode.Of(err) != tc.code {
				t.Fatalf("%v: exit %d (%v)", tc.args, exitcode.Of(err), err)
			}
			if tc.code == exitcode.OK && (!strings.Contains(out, "Dry run: nothing was changed.") || len(e.history(t)) != 1) {
				t.Fatalf("%v: stored a revision or printed no plan:\n%s", tc.args, out)
			}
		})
	}
	// --dry-run=none is a real run.
	e := newScaleEnv(t, 5, userValues())
	if _, _, err := e.run(t, "scale", "--chunk", "5", "--dry-run=none", "--yes", "--timeout", "0"); err != nil || len(e.history(t)) != 2 {
		t.Fatalf("--dry-run=none: %v, %d revisions", err, len(e.history(t)))
	}
}
