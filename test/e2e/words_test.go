//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A scale-in whose checks cannot reach iomeshctl (a cluster whose meta pods lack it, as the demo
// had) stops with exit 1 under an error's heading, not a refusal's; preflight names the
// operator Deployment once.
func TestScaleStoppedByAnErrorReadsAsOne(t *testing.T) {
	scaleInCluster(t, "", 3)
	before := readRelease(t)

	r := plugin(t, "preflight", "--chunk", "4")
	mustContain(t, r, "Deployment operator has 1 of 1 replicas available")
	if strings.Contains(r.stdout, "operator operator") {
		t.Fatalf("the operator line names the Deployment twice:\n%s", r)
	}

	bin := filepath.Join(env.clusterDir, "iomeshctl")
	if err := os.Rename(bin, bin+".away"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Rename(bin+".away", bin) })
	r = plugin(t, "scale", "--chunk", "4", "--yes")
	if r.code != 1 {
		t.Fatalf("want exit 1 (an error), got:\n%s", r)
	}
	if !regexp.MustCompile(`(?m)^Error: (a preflight check|[0-9]+ preflight checks) could not run:$`).MatchString(r.stderr) || strings.Contains(r.stderr, "Refused") {
		t.Fatalf("want the error's heading, not a refusal's:\n%s", r)
	}
	mustContain(t, r, "[ERROR] ", "/opt/iomesh/iomeshctl")
	assertUnchanged(t, before)
	if u := unregisters(t); len(u) != 0 {
		t.Fatalf("unregistered without a summary: %v", u)
	}
	record("scale-in fault", "iomeshctl missing in the meta pods", "exit 1 under an error's heading, release unchanged, nothing unregistered")
}
