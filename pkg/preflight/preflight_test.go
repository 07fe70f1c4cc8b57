package preflight

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func ip(i int) *int { return &i }

// cluster builds an input: nodes workers, chunk and meta pods on the first nodes, Enterprise
// with a licence for maxChunk.
func cluster(nodes, chunk, meta, maxChunk int) *Input {
	in := &Input{
		Namespace: "iomesh-system", Release: "iomesh",
		ReleaseStatus: "deployed", Revision: 2, LastDeployed: 1,
		Replicas:    values.Replicas{Layout: values.Nested, Chunk: chunk, Meta: meta},
		Edition:     edition.Result{Edition: edition.Enterprise, Source: edition.SourceValues},
		Permissions: access.Review{Checked: true},
		Now:         tf.Now,
	}
	m := maxChunk
	in.License = &edition.License{MaxChunkNum: &m, LicenseType: "SUBSCRIPTION", ExpirationDate: "2027-06-30"}
	for i := 0; i < nodes; i++ {
		in.Nodes = append(in.Nodes, *tf.Node(fmt.Sprintf("node-%d", i)))
	}
	for i := 0; i < chunk; i++ {
		in.ChunkPods = append(in.ChunkPods, *tf.Pod("chunk", i, 3, fmt.Sprintf("node-%d", i), time.Hour, tf.Running))
	}
	for i := 0; i < meta; i++ {
		in.MetaPods = append(in.MetaPods, *tf.Pod("meta", i, 2, fmt.Sprintf("node-%d", i), time.Hour, tf.Running))
	}
	return in
}

func verdicts(r *Report) map[string]Result {
	m := map[string]Result{}
	for _, res := range r.Results {
		m[res.ID] = res
	}
	return m
}

func expect(t *testing.T, r *Report, id string, want Verdict, reasonPart string) {
	t.Helper()
	got, ok := verdicts(r)[id]
	if !ok {
		t.Fatalf("no check %s", id)
	}
	if got.Verdict != want || !strings.Contains(got.Reason, reasonPart) {
		t.Fatalf("%s = %s %q, want %s containing %q", id, got.Verdict, got.Reason, want, reasonPart)
	}
}

func TestChunkBoundaries(t *testing.T) {
	cases := []struct {
		chunk   int
		min     Verdict
		max     Verdict
		scaleIn Verdict
	}{
		{2, Fail, Pass, Fail},
		{3, Pass, Pass, Pass},
		{5, Pass, Pass, Pass},
		{255, Pass, Pass, Pass},
		{256, Pass, Fail, Pass},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("chunk %d", tc.chunk), func(t *testing.T) {
			in := cluster(300, 3, 3, 1000)
			in.Target = Target{Chunk: ip(tc.chunk)}
			r := Run(in, nil, "v1")
			expect(t, r, "chunk.min", tc.min, "")
			expect(t, r, "chunk.max", tc.max, "")
			expect(t, r, "chunk.no-scale-in", tc.scaleIn, "")
		})
	}
}

func TestMetaBoundaries(t *testing.T) {
	for meta, want := range map[int]Verdict{3: Pass, 4: Fail, 5: Pass, 6: Fail, 1: Fail} {
		in := cluster(6, 3, 3, 10)
		in.Target = Target{Meta: ip(meta)}
		expect(t, Run(in, nil, "v1"), "meta.allowed-count", want, fmt.Sprint(meta))
	}
}

func TestCommunity(t *testing.T) {
	in := cluster(6, 3, 3, 3)
	in.Edition = edition.Result{Edition: edition.Community, Source: edition.SourceDefault}
	in.Target = Target{Chunk: ip(4)}
	r := Run(in, nil, "v1")
	expect(t, r, "edition.community-limit", Fail, "at most 3 chunk and 3 meta")
	if r.Limit.MaxChunk != 3 || !contains(r.Limit.LimitedBy, "Community edition") {
		t.Fatalf("limit = %+v", r.Limit)
	}
	in.Target = Target{}
	expect(t, Run(in, nil, "v1"), "edition.community-limit", Warn, "cannot scale out")
	in.Target = Target{Chunk: ip(3), Meta: ip(3)}
	expect(t, Run(in, nil, "v1"), "edition.community-limit", Pass, "")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestEnterpriseNodes(t *testing.T) {
	// 3, 5 and 6 nodes, target 5 chunk / 5 meta.
	for nodes, want := range map[int]Verdict{3: Fail, 5: Pass, 6: Pass} {
		in := cluster(nodes, 3, 3, 10)
		in.Target = Target{Chunk: ip(5), Meta: ip(5)}
		r := Run(in, nil, "v1")
		expect(t, r, "nodes.eligible-chunk", want, "")
		expect(t, r, "nodes.eligible-meta", want, "")
		if r.Limit.MaxChunk != nodes {
			t.Fatalf("%d nodes: limit %+v", nodes, r.Limit)
		}
	}
}

func TestLicenceBelowNodes(t *testing.T) {
	in := cluster(6, 3, 3, 4)
	in.Target = Target{Chunk: ip(5)}
	r := Run(in, nil, "v1")
	expect(t, r, "license.chunk-quota", Fail, "exceed the licence's maxChunkNum of 4")
	if r.Limit.MaxChunk != 4 || r.Limit.LimitedBy[0] != "licence" {
		t.Fatalf("limit = %+v", r.Limit)
	}
}

func TestCordonTaintSelector(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Nodes[3].Spec.Unschedulable = true
	in.Nodes[4].Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	in.Target = Target{Chunk: ip(4)}
	r := Run(in, nil, "v1")
	expect(t, r, "nodes.eligible-chunk", Fail, "1 cordoned (unschedulable): node-3; 1 taint dedicated=db:NoSchedule not tolerated: node-4")

	// Tolerating the taint makes node-4 eligible again.
	in.ChunkPolicy = placement.Policy{Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Pass, "")

	// A nodeSelector the free nodes lack excludes them.
	in = cluster(5, 3, 3, 10)
	in.ChunkPolicy = placement.Policy{NodeSelector: map[string]string{"iomesh": "yes"}}
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Fail, "2 does not match podPolicy nodeSelector/affinity")
	in.Nodes[4].Labels["iomesh"] = "yes"
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Pass, "")
}

func TestControlPlaneCountsOnlyWhenTolerated(t *testing.T) {
	in := cluster(4, 3, 3, 10)
	in.Nodes[3].Labels["node-role.kubernetes.io/control-plane"] = ""
	in.Nodes[3].Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Fail, "")
	in.ChunkPolicy.Tolerations = []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Pass, "")
}

func TestNotReadyNode(t *testing.T) {
	in := cluster(4, 3, 3, 10)
	in.Nodes[3].Status.Conditions[0].Status = corev1.ConditionFalse
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "nodes.eligible-chunk", Fail, "1 not Ready")
}

func TestPendingAndFailedRelease(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ReleaseStatus, in.Revision, in.LastDeployed = "pending-upgrade", 3, 2
	in.LastDeployedReplicas = &values.Replicas{Chunk: 3, Meta: 3}
	r := Run(in, nil, "v1")
	expect(t, r, "release.pending", Fail, "pending-upgrade")
	if !strings.Contains(verdicts(r)["release.pending"].Hint, "helm rollback iomesh 2 -n iomesh-system") {
		t.Fatalf("hint = %q", verdicts(r)["release.pending"].Hint)
	}
	// The Lease recorded this tool's lower of revision 3, and revision 3 is it (Helm's words
	// while it writes, the lower's count): no rollback, the scale-in's command.
	in.ScaleIn = &ScaleInFacts{Lowering: inventory.Lowering{Component: "chunk", From: 4, To: 3, Version: 3}}
	in.ReleaseDescription = "Preparing upgrade"
	if h := verdicts(Run(in, nil, "v1"))["release.pending"].Hint; !strings.Contains(h, "revision 3 is this tool's lower (chunk 4 -> 3") || strings.Contains(h, "helm rollback") {
		t.Fatalf("hint for this tool's own pending lower = %q", h)
	}
	for name, change := range map[string]func(){
		"another revision":    func() { in.ScaleIn.Lowering.Version = 2 },
		"another count":       func() { in.ScaleIn.Lowering.To, in.ScaleIn.Lowering.From = 2, 3 },
		"another writer":      func() { in.ReleaseDescription = "Upgrade in progress" },
		"no lower recorded":   func() { in.ScaleIn = nil },
		"counts not readable": func() { in.ReplicasErr = errors.New("no values") },
	} {
		in.ScaleIn = &ScaleInFacts{Lowering: inventory.Lowering{Component: "chunk", From: 4, To: 3, Version: 3}}
		in.ReleaseDescription, in.ReplicasErr = "Preparing upgrade", nil
		change()
		if h := verdicts(Run(in, nil, "v1"))["release.pending"].Hint; strings.Contains(h, "this tool's lower") || !strings.Contains(h, "helm rollback iomesh 2") {
			t.Fatalf("%s: named as this tool's lower, or no rollback offered: %q", name, h)
		}
	}
	in.ScaleIn, in.ReleaseDescription, in.ReplicasErr = nil, "", nil
	expect(t, r, "release.deployed", Skipped, "")
	// A failed revision after a deployed one: the scale starts from the deployed one.
	in.ReleaseStatus, in.ReleaseDescription = "failed", "admission webhook denied"
	expect(t, Run(in, nil, "v1"), "release.deployed", Warn, "revision 3 failed: admission webhook denied; a scale starts from revision 2, the last deployed, and keeps revision 3 in the history")
	in.LastDeployed = 0
	expect(t, Run(in, nil, "v1"), "release.deployed", Fail, "admission webhook denied")
}

func TestMetaRecommendFive(t *testing.T) {
	in := cluster(6, 3, 3, 10)
	in.Target = Target{Chunk: ip(5)}
	expect(t, Run(in, nil, "v1"), "meta.recommend-five", Warn, "5 nodes will run chunk pods but only 3 meta pods")
	in.Target = Target{Chunk: ip(5), Meta: ip(5)}
	expect(t, Run(in, nil, "v1"), "meta.recommend-five", Pass, "")
}

func TestPodsHealthy(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.ChunkPods[1] = *tf.Pod("chunk", 1, 3, "node-1", time.Hour, tf.CrashLoop)
	expect(t, Run(in, nil, "v1"), "pods.healthy", Fail, "iomesh-chunk-1 (CrashLoopBackOff, 2/3 ready)")
	in = cluster(5, 3, 3, 10)
	in.MetaPods = in.MetaPods[:2]
	expect(t, Run(in, nil, "v1"), "pods.healthy", Fail, "2 of 3 meta pods exist")
}

// This tool's lower failed once Helm had applied part of it: the pod above the lower count may
// be gone already. Only that recorded lower explains the missing pod.
func TestPodsHealthyAfterOwnFailedLower(t *testing.T) {
	in := cluster(5, 5, 3, 10)
	in.ChunkPods = in.ChunkPods[:4]
	c := counts(5, 5, 4, 0, 1, 2, 3)
	in.Counts = []Counts{c}
	expect(t, Run(in, nil, "v1"), "pods.healthy", Fail, "4 of 5 chunk pods exist")
	c.Lowering = inventory.Lowering{Component: "chunk", From: 5, To: 4, Version: 2}
	in.Counts = []Counts{c}
	expect(t, Run(in, nil, "v1"), "pods.healthy", Pass, "all 4 chunk and 3 meta pods are Ready")
	in.ChunkPods = in.ChunkPods[:3]
	expect(t, Run(in, nil, "v1"), "pods.healthy", Fail, "3 of 4 chunk pods exist")
}

func TestPermissions(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Permissions.Missing = []access.Need{{Verb: "update", Resource: "secrets", Namespace: "iomesh-system"}}
	expect(t, Run(in, nil, "v1"), "rbac.permissions", Fail, "missing 1 permission a scale needs:\nnamespace iomesh-system: update secrets")
}

func TestSkipAndSummary(t *testing.T) {
	in := cluster(3, 3, 3, 10)
	in.Target = Target{Chunk: ip(5)}
	r := Run(in, map[string]bool{"nodes.eligible-chunk": true}, "v1")
	expect(t, r, "nodes.eligible-chunk", Skipped, "--skip-check")
	if r.Summary.Fail != 0 || r.Summary.Warn != 1 || r.Summary.Skipped != 18 || r.Summary.Worst != Warn {
		t.Fatalf("summary = %+v", r.Summary)
	}
	if len(r.Results) != len(Checks()) {
		t.Fatal("every check must be listed")
	}
}

// storage makes the input's IOMesh view healthy: every chunk pod registered, meta-0 leads.
func storage(in *Input) *Input {
	in.Storage = iomeshcluster.View{Summary: true, MetaReported: true, TaskReported: true, MetaLeader: in.MetaPods[0].Status.PodIP + ":10100"}
	for i, p := range in.ChunkPods {
		in.Storage.Chunks = append(in.Storage.Chunks, iomeshcluster.RegisteredChunk{ID: int64(i + 1), IP: p.Status.PodIP, Status: iomeshcluster.ChunkHealthy, MatchedNode: p.Spec.NodeName})
	}
	in.LeaderPods = []string{in.MetaPods[0].Name}
	return in
}

func TestStorageHealthy(t *testing.T) {
	r := Run(storage(cluster(5, 3, 3, 10)), nil, "v1")
	expect(t, r, "cluster.tasks-idle", Pass, "no task in process")
	expect(t, r, "cluster.chunks-healthy", Pass, "3 chunks registered, all healthy")
	expect(t, r, "cluster.meta-leader", Pass, "meta leader is iomesh-meta-0")
}

func TestStorageNotReported(t *testing.T) {
	// An IOMesh that reports no summary, no task field and labels no leader: skipped, never failed.
	r := Run(cluster(5, 3, 3, 10), nil, "v1")
	expect(t, r, "cluster.tasks-idle", Skipped, iomeshcluster.NotReported)
	expect(t, r, "cluster.chunks-healthy", Skipped, iomeshcluster.NotReported)
	expect(t, r, "cluster.meta-leader", Skipped, iomeshcluster.NotReported)
	in := cluster(5, 3, 3, 10)
	in.Cluster.Absent = &inventory.Unavailable{Reason: inventory.NotFound, Text: "IOMeshCluster \"iomesh\" not found"}
	expect(t, Run(in, nil, "v1"), "cluster.chunks-healthy", Skipped, "cluster.present")
}

func TestTaskInProcessRefuses(t *testing.T) {
	in := storage(cluster(5, 3, 3, 10))
	in.Storage.TaskInProcess = "MIGRATE 3 extents"
	r := Run(in, nil, "v1")
	expect(t, r, "cluster.tasks-idle", Fail, "task in process: MIGRATE 3 extents")
	if !strings.Contains(verdicts(r)["cluster.tasks-idle"].Hint, "-w -o jsonpath='{.status.taskInProcess}") {
		t.Fatalf("hint does not say how to watch: %q", verdicts(r)["cluster.tasks-idle"].Hint)
	}
}

func TestChunksUnhealthyOrMissing(t *testing.T) {
	in := storage(cluster(5, 3, 3, 10))
	in.Storage.Chunks[1].Status = "CHUNK_STATUS_SOMETHING_NEW"
	expect(t, Run(in, nil, "v1"), "cluster.chunks-healthy", Warn, "chunk 2 on node-1 is CHUNK_STATUS_SOMETHING_NEW")
	in = storage(cluster(5, 3, 3, 10))
	in.Storage.Chunks = in.Storage.Chunks[:2]
	expect(t, Run(in, nil, "v1"), "cluster.chunks-healthy", Warn, "2 chunks registered for 3 Ready chunk pods")
}

func TestMetaLeader(t *testing.T) {
	in := storage(cluster(5, 3, 3, 10))
	in.LeaderPods = []string{"iomesh-meta-0", "iomesh-meta-1"}
	expect(t, Run(in, nil, "v1"), "cluster.meta-leader", Warn, "2 meta pods carry iomesh.com/meta-leader")
	in = storage(cluster(5, 3, 3, 10))
	in.LeaderPods = nil
	expect(t, Run(in, nil, "v1"), "cluster.meta-leader", Warn, "no meta pod carries")
	in = storage(cluster(5, 3, 3, 10))
	in.Storage.MetaLeader = ""
	expect(t, Run(in, nil, "v1"), "cluster.meta-leader", Warn, "no meta leader")
	in = storage(cluster(5, 3, 3, 10))
	// The leader's storage-network address need not be the pod's: both are shown, no warning.
	in.Storage.MetaLeader = "10.9.9.9:10100"
	expect(t, Run(in, nil, "v1"), "cluster.meta-leader", Pass, "meta leader is iomesh-meta-0 (IOMesh reports 10.9.9.9:10100; pod IP 10.0.0.10)")
	in.MetaPods[0].Status.PodIP = ""
	expect(t, Run(in, nil, "v1"), "cluster.meta-leader", Pass, "pod IP <none>")
}

func TestLicenceAtTheLimitAndCommunityMeta(t *testing.T) {
	in := cluster(6, 3, 3, 5)
	in.Target = Target{Chunk: ip(5)}
	expect(t, Run(in, nil, "v1"), "license.chunk-quota", Pass, "5 chunk pods within the licence's maxChunkNum of 5")
	com := cluster(6, 3, 3, 5)
	com.Edition = edition.Result{Edition: edition.Community, Source: edition.SourceDefault}
	com.Target = Target{Meta: ip(5)}
	expect(t, Run(com, nil, "v1"), "edition.community-limit", Fail, "allows at most 3 chunk and 3 meta pods; the target is 3 chunk, 5 meta")
	com.Target = Target{Meta: ip(3)}
	expect(t, Run(com, nil, "v1"), "edition.community-limit", Pass, "within 3")
}

func TestGitOpsUnmanaged(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Target = Target{Chunk: ip(5)}
	expect(t, Run(in, nil, "v1"), GitOpsCheckID, Pass, "no GitOps controller")
	if r := Run(in, nil, "v1"); r.GitOps != nil {
		t.Fatalf("a report without an owner carries a Git edit: %+v", r.GitOps)
	}

	in.GitOps = &gitops.Owner{Kind: gitops.FluxHelmRelease, Namespace: "flux-system", Name: "iomesh", Evidence: "label helm.toolkit.fluxcd.io/name=iomesh"}
	r := Run(in, nil, "v1")
	expect(t, r, GitOpsCheckID, Fail, "Flux HelmRelease flux-system/iomesh owns this IOMesh cluster")
	res := verdicts(r)[GitOpsCheckID]
	for _, want := range []string{"in HelmRelease flux-system/iomesh in Git set spec.values.iomesh.chunk.replicaCount: 5", "flux suspend helmrelease iomesh -n flux-system", "--skip-check gitops.unmanaged"} {
		if !strings.Contains(res.Hint, want) {
			t.Errorf("hint %q lacks %q", res.Hint, want)
		}
	}
	if r.GitOps == nil || r.GitOps.Edit == nil || strings.Join(r.GitOps.Edit.Flat(), ";") != "spec.values.iomesh.chunk.replicaCount: 5" {
		t.Fatalf("the report's Git edit: %+v", r.GitOps)
	}
	// Skipped on request, as every check.
	expect(t, Run(in, map[string]bool{GitOpsCheckID: true}, "v1"), GitOpsCheckID, Skipped, "")

	in.GitOps.Read, in.GitOps.Suspended = true, true
	expect(t, Run(in, nil, "v1"), GitOpsCheckID, Warn, "is suspended")

	in.GitOps = &gitops.Owner{Kind: gitops.ArgoApplication, Namespace: "argocd", Name: "iomesh", Read: true, SelfHeal: false}
	expect(t, Run(in, nil, "v1"), GitOpsCheckID, Warn, "does not heal itself")
	in.GitOps.SelfHeal = true
	r = Run(in, nil, "v1")
	expect(t, r, GitOpsCheckID, Fail, "Argo CD Application argocd/iomesh owns")
	if h := verdicts(r)[GitOpsCheckID].Hint; !strings.Contains(h, "set spec.chunk.replicas: 5") || !strings.Contains(h, "--self-heal=false") {
		t.Fatalf("argo hint %q", h)
	}
	// Without a target there is no edit to name.
	in.Target = Target{}
	if h := verdicts(Run(in, nil, "v1"))[GitOpsCheckID].Hint; !strings.HasPrefix(h, "Make the change in Git instead. ") {
		t.Fatalf("hint without a target %q", h)
	}
}

func TestOperatorReady(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Skipped, "not read")
	in.Operator = &inventory.OperatorState{}
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Skipped, "no operator Deployment")
	in.Operator = &inventory.OperatorState{Deployment: "operator", Desired: 1, Available: 1, Webhook: "iomesh-validating-webhook-configuration", FailurePolicy: "Fail"}
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Pass, "Deployment operator has 1 of 1 replicas available")
	if reason := verdicts(Run(in, nil, "v1"))[OperatorCheckID].Reason; strings.Count(reason, "operator") != 1 {
		t.Fatalf("the operator line names the Deployment more than once: %q", reason)
	}
	in.Operator.Available = 0
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Fail, "no available replica (1 wanted); it serves webhook iomesh-validating-webhook-configuration (failurePolicy Fail)")
	in.Operator.Missing = true
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Fail, "is not in the cluster")
	in.Operator.Missing, in.Operator.Desired = false, 0
	r := Run(in, nil, "v1")
	expect(t, r, OperatorCheckID, Fail, "Deployment operator is scaled to 0; it serves webhook")
	if h := verdicts(r)[OperatorCheckID].Hint; !strings.Contains(h, "kubectl scale deployment operator -n iomesh-system --replicas 1") {
		t.Fatalf("hint %q", h)
	}
	in.Operator.Desired = 1
	in.Operator.Missing, in.Operator.FailurePolicy = false, "Ignore"
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Warn, "ignores the failure (failurePolicy Ignore), so the change is accepted but no pods come")
	// The live webhook decides, and the verdict says when it differs from the manifest.
	in.Operator.ManifestFailurePolicy, in.Operator.FailurePolicy, in.Operator.WebhookLive = "Ignore", "Fail", true
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Fail, "(live failurePolicy Fail, though the release manifest says Ignore: it was changed in the cluster), so the API server would reject")
	in.Operator.ManifestFailurePolicy, in.Operator.FailurePolicy = "Fail", "Ignore"
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Warn, "(live failurePolicy Ignore, though the release manifest says Fail")
	in.Operator.WebhookLive, in.Operator.WebhookMissing, in.Operator.FailurePolicy = false, true, ""
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Warn, "the release's webhook iomesh-validating-webhook-configuration is not in the cluster")
	in.Operator.WebhookMissing, in.Operator.WebhookErr = false, errors.New("not allowed to get validatingwebhookconfiguration")
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Fail, "would reject the IOMeshCluster write is unknown: not allowed")
	in.Operator.WebhookErr = nil
	in.Operator.Webhook = ""
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Warn, "no pods come until it is back")
	in.Operator.Err = errors.New("not allowed to get deployment operator")
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Error, "not allowed")
	in.Operator.Err, in.Direct = nil, true
	expect(t, Run(in, nil, "v1"), OperatorCheckID, Skipped, "directly managed")
}
