package preflight

import (
	"errors"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	"strings"
	"testing"
)

// A cluster applied without Helm has no release to judge: the release checks pass with a note.
func TestReleaseChecksOfADirectCluster(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Direct, in.ReleaseStatus = true, ""
	r := Run(in, nil, "v1")
	for _, id := range []string{"release.deployed", "release.pending"} {
		if v := verdicts(r)[id]; v.Verdict != Pass || v.Reason != directNote {
			t.Fatalf("%s = %s %q", id, v.Verdict, v.Reason)
		}
	}
}

func TestReleaseStatesOutsideTheKnownOnes(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ReleaseStatus = "uninstalling"
	expect(t, Run(in, nil, "v1"), "release.deployed", Fail, "revision 2 is uninstalling, not deployed")
	expect(t, Run(in, nil, "v1"), "release.pending", Pass, "revision 2 is uninstalling")
	// Pending with no earlier revision: nothing to roll back to, and the hint says so.
	in.ReleaseStatus, in.LastDeployed = "pending-install", 0
	r := Run(in, nil, "v1")
	if h := verdicts(r)["release.pending"].Hint; !strings.Contains(h, "no earlier revision exists to roll back to; see `helm history iomesh -n iomesh-system`") {
		t.Fatalf("hint %q", h)
	}
	in.ReleaseStatus = "failed"
	if h := verdicts(Run(in, nil, "v1"))["release.deployed"].Hint; strings.Contains(h, "helm rollback") {
		t.Fatalf("a rollback offered with no good revision: %q", h)
	}
}

func TestClusterUnreadable(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Cluster.Err = errors.New("iomeshclusters.iomesh.com is forbidden")
	r := Run(in, nil, "v1")
	expect(t, r, "cluster.present", Error, "is forbidden")
	// IOMesh's view cannot be read either: its checks are skipped with the same reason.
	expect(t, r, "cluster.tasks-idle", Skipped, "is forbidden")
	expect(t, r, "cluster.meta-leader", Skipped, "is forbidden")
}

// The rollback hint names the last good revision only when there is one.
func TestRollbackHintOnlyWithAGoodRevision(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ReleaseStatus, in.ReleaseDescription, in.Revision, in.LastDeployed = "failed", "boom", 3, 2
	in.LastDeployedReplicas = &values.Replicas{Chunk: 3, Meta: 3}
	if h := verdicts(Run(in, nil, "v1"))["release.deployed"].Hint; !strings.Contains(h, "helm rollback iomesh 2 -n iomesh-system") {
		t.Fatalf("failed, with a good revision: %q", h)
	}
	// A revision with fewer chunk pods than run (a failed scale-out applied its count): a
	// rollback would remove pods whose chunks are registered. Never advised.
	in.LastDeployedReplicas = &values.Replicas{Chunk: 2, Meta: 3}
	for _, status := range []string{"failed", "pending-upgrade"} {
		in.ReleaseStatus = status
		r := Run(in, nil, "v1")
		for _, id := range []string{"release.deployed", "release.pending"} {
			if h := verdicts(r)[id].Hint; strings.Contains(h, "with `helm rollback") || (h != "" && id == map[string]string{"failed": "release.deployed", "pending-upgrade": "release.pending"}[status] && !strings.Contains(h, "do not `helm rollback` to revision 2: it has 2 chunk and 3 meta pods while 3 and 3 run")) {
				t.Fatalf("%s, %s: %q", status, id, h)
			}
		}
	}
	in.ReleaseStatus, in.LastDeployedReplicas = "failed", &values.Replicas{Chunk: 3, Meta: 3}
	in.LastDeployed = 0
	if h := verdicts(Run(in, nil, "v1"))["release.deployed"].Hint; strings.Contains(h, "rollback") {
		t.Fatalf("failed, without a good revision: %q", h)
	}
	in.ReleaseStatus = "pending-install"
	if h := verdicts(Run(in, nil, "v1"))["release.pending"].Hint; !strings.Contains(h, "no earlier revision exists") || strings.Contains(h, "helm rollback") {
		t.Fatalf("pending, without a good revision: %q", h)
	}
}

// The summary counts each verdict; a verdict is not worse than itself.
func TestSummaryCounts(t *testing.T) {
	r := Run(cluster(5, 3, 3, 10), nil, "v1")
	pass, fail := 0, 0
	for _, res := range r.Results {
		switch res.Verdict {
		case Pass:
			pass++
		case Fail:
			fail++
		}
	}
	if pass == 0 || r.Summary.Pass != pass || r.Summary.Fail != fail {
		t.Fatalf("summary %+v, counted %d pass, %d fail", r.Summary, pass, fail)
	}
	in := cluster(5, 3, 3, 10)
	in.ReleaseStatus, in.LastDeployed = "failed", 0
	if r := Run(in, nil, "v1"); r.Summary.Fail < 1 || r.Summary.Worst != Fail {
		t.Fatalf("failed release: %+v", r.Summary)
	}
	in = cluster(5, 3, 3, 10)
	in.Disks = Disks{DisksErr: errors.New("blockdevices are forbidden")}
	if r := Run(in, nil, "v1"); r.Summary.Error != 1 || r.Summary.Worst != Error {
		t.Fatalf("one check in error: %+v", r.Summary)
	}
	for _, v := range []Verdict{Pass, Warn, Fail, Error} {
		if v.Worse(v) {
			t.Errorf("%s is worse than itself", v)
		}
	}
}
