package view

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
)

// report counts its results' verdicts as preflight.Run does.
func report(results ...preflight.Result) *preflight.Report {
	r := &preflight.Report{Results: results, Target: preflight.Target{}}
	for _, res := range results {
		switch res.Verdict {
		case preflight.Fail:
			r.Summary.Fail++
		case preflight.Error:
			r.Summary.Error++
		case preflight.Warn:
			r.Summary.Warn++
		}
	}
	return r
}

var (
	failed  = preflight.Result{ID: "license.chunk-quota", Verdict: preflight.Fail, Reason: "9 chunk pods exceed the licence's maxChunkNum of 8"}
	broken  = preflight.Result{ID: "scale-in.migration-idle", Verdict: preflight.Error, Reason: "fork/exec /opt/iomesh/iomeshctl: no such file or directory"}
	broken2 = preflight.Result{ID: "operator.ready", Verdict: preflight.Error, Reason: "deployments.apps is forbidden"}
	warned  = preflight.Result{ID: "disks.new-chunk-nodes", Verdict: preflight.Warn, Reason: "missing on kwok-node-6"}
)

// A change the checks stop is headed by what stopped it, as its exit code says: a check that
// could not run is an error (exit 1), a failed check a refusal (exit 3).
func TestRefusalHeading(t *testing.T) {
	cases := []struct {
		name          string
		r             *preflight.Report
		failOnWarning bool
		code          int
		heading       string
		listed        []string
		notListed     []string
	}{
		{"an error alone", report(broken, warned), false, exitcode.Error,
			"Error: a preflight check could not run:", []string{"[ERROR] scale-in.migration-idle: fork/exec"}, []string{"Refused", "disks.new-chunk-nodes"}},
		{"two errors", report(broken, broken2), false, exitcode.Error,
			"Error: 2 preflight checks could not run:", []string{"scale-in.migration-idle", "operator.ready"}, []string{"Refused"}},
		{"a failure and an error", report(failed, broken), false, exitcode.Refused,
			"Refused by the preflight checks:", []string{"[FAIL] license.chunk-quota", "[ERROR] scale-in.migration-idle"}, []string{"Error:"}},
		{"warnings under --fail-on-warning", report(warned), true, exitcode.Warnings,
			"Stopped by warnings (--fail-on-warning):", []string{"[WARN] disks.new-chunk-nodes"}, []string{"Refused", "Error:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := preflight.ExitError(c.r, c.failOnWarning)
			if got := exitcode.Of(err); got != c.code {
				t.Fatalf("exit %d, want %d", got, c.code)
			}
			var b strings.Builder
			WriteRefusal(&b, CheckStyle{}, c.r, c.failOnWarning, err)
			out := b.String()
			if first, _, _ := strings.Cut(out, "\n"); first != c.heading {
				t.Fatalf("heading %q, want %q:\n%s", first, c.heading, out)
			}
			for _, s := range c.listed {
				if !strings.Contains(out, s) {
					t.Errorf("lacks %q:\n%s", s, out)
				}
			}
			for _, s := range c.notListed {
				if strings.Contains(out, s) {
					t.Errorf("has %q:\n%s", s, out)
				}
			}
			if !strings.HasSuffix(out, "Nothing was changed. See every check with `kubectl iomesh preflight`.\n") {
				t.Errorf("no pointer to every check:\n%s", out)
			}
		})
	}
	// A refusal that is not the checks' own (the counts could not be read) stays a refusal.
	err := exitcode.Wrap(exitcode.Refused, errors.New("cannot read the current replica counts"))
	if h := RefusalHeading(report(), err); h != "Refused by the preflight checks:" {
		t.Fatalf("heading %q", h)
	}
}
