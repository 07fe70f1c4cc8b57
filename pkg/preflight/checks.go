package preflight

// The checks branch with if chains, not expressionless switches: Go's coverage profile gives a
// case expression no block of its own, so mutation testing would never try its conditions.

import (
	"fmt"
	"sort"
	"strings"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
)

func pass(reason string, a ...interface{}) Result {
	return Result{Verdict: Pass, Reason: fmt.Sprintf(reason, a...)}
}
func skip(reason string, a ...interface{}) Result {
	return Result{Verdict: Skipped, Reason: fmt.Sprintf(reason, a...)}
}
func bad(v Verdict, reason, hint, doc string) Result {
	return Result{Verdict: v, Reason: reason, Hint: hint, Doc: doc}
}

// Checks returns every rule, in the order they are shown.
func Checks() []Check {
	return []Check{
		{"release.deployed", "release", "Release is deployed", checkDeployed},
		{"release.pending", "release", "No Helm operation in flight", checkPending},
		{"cluster.present", "release", "The IOMeshCluster exists", checkCluster},
		{CountsCheckID, "release", "The values, IOMeshCluster and StatefulSets agree on the counts", checkCounts},
		{GitOpsCheckID, "gitops", "No GitOps controller reverts the change", checkGitOps},
		{"edition.community-limit", "edition", "Edition allows the target", checkEdition},
		{"license.chunk-quota", "license", "Licence covers the chunk pods", checkQuota},
		{"license.expiry", "license", "Licence is valid", checkExpiry},
		{"chunk.min", "chunk", fmt.Sprintf("At least %d chunk pods", edition.ChunkMin), checkChunkMin},
		{"chunk.max", "chunk", fmt.Sprintf("At most %d chunk pods", edition.ChunkMax), checkChunkMax},
		{"chunk.no-scale-in", "chunk", "Chunk pods are removed only where IOMesh reports them", checkChunkScaleIn},
		{"meta.allowed-count", "meta", fmt.Sprintf("Meta count is %d or %d", edition.MetaSmall, edition.MetaLarge), checkMetaCount},
		{"meta.no-scale-in", "meta", "Meta pods are removed only where the version allows", checkMetaScaleIn},
		{"meta.recommend-five", "meta", fmt.Sprintf("%d meta pods from %d IOMesh nodes on", edition.MetaLarge, edition.MetaLargeFrom), checkMetaFive},
		{OneDirectionCheckID, "scale-in", "A scale moves the counts one way", checkOneDirection},
		{MappedCheckID, "scale-in", "Each chunk pod to remove maps to one chunk", checkMapped},
		{MigrationCheckID, "scale-in", "No recovery or migration on the meta leader", checkMigration},
		{CapacityCheckID, "scale-in", "The remaining chunks hold the data", checkCapacity},
		{"scale-in.leader-kept", "scale-in", "The meta leader is not removed", checkLeaderKept},
		{"nodes.eligible-chunk", "nodes", "Enough nodes for the chunk pods", func(f *Facts) Result { return checkNodes(f, f.Chunk, f.TargetChunk, f.TargetChunkOK, "chunk") }},
		{"nodes.eligible-meta", "nodes", "Enough nodes for the meta pods", func(f *Facts) Result { return checkNodes(f, f.Meta, f.TargetMeta, f.TargetMetaOK, "meta") }},
		{"disks.new-chunk-nodes", "nodes", "New chunk pods have disks to mount", checkDisks},
		{"nodes.iscsi-prepared", "nodes", "Nodes for new chunk pods have iSCSI", checkISCSI},
		{"nodes.csi-node-ready", "nodes", "Nodes for new chunk pods run a Ready CSI node plugin", checkCSINode},
		{"nodes.resources", "nodes", "Nodes for new chunk pods have 8 CPUs and 16 GiB", checkResources},
		{"nodes.storage-network", "nodes", "Nodes for new chunk pods have an address in dataCIDR", checkNetwork},
		{"pods.healthy", "pods", "Chunk and meta pods are Ready", checkPods},
		{"cluster.tasks-idle", "storage", "No data recovery or migration in process", checkTasks},
		{"cluster.chunks-healthy", "storage", "Every chunk is registered and healthy", checkChunks},
		{"cluster.meta-leader", "storage", "One meta leader", checkLeader},
		{OperatorCheckID, "operator", "The IOMesh operator and its webhook are up", checkOperator},
		{"rbac.permissions", "rbac", "You may scale the release", checkRBAC},
	}
}

// IDs lists every check ID.
func IDs() []string {
	var ids []string
	for _, c := range Checks() {
		ids = append(ids, c.ID)
	}
	return ids
}

// OperatorCheckID is the operator and webhook check.
const OperatorCheckID = "operator.ready"

func checkOperator(f *Facts) Result {
	op := f.Operator
	switch {
	case op == nil:
		return skip("the operator was not read")
	case f.Direct:
		return skip("no Helm release names the operator of a directly managed cluster")
	case op.Deployment == "":
		return skip("the release deploys no operator Deployment")
	case op.Err != nil:
		return bad(Error, op.Err.Error(), "", "")
	}
	if !op.Missing && op.Available > 0 {
		return pass("Deployment %s has %d of %d replicas available", op.Deployment, op.Available, op.Desired)
	}
	down := fmt.Sprintf("Deployment %s has no available replica (%d wanted)", op.Deployment, op.Desired)
	hint := fmt.Sprintf("Bring the operator back first: see why with `kubectl describe deployment %s -n %s`", op.Deployment, f.Namespace)
	switch {
	case op.Missing:
		down = fmt.Sprintf("Deployment %s is not in the cluster", op.Deployment)
		hint = fmt.Sprintf("Restore the release's objects first (`helm get manifest %s` lists them)", helmRef(f))
	case op.Desired == 0:
		down = fmt.Sprintf("Deployment %s is scaled to 0", op.Deployment)
		hint = fmt.Sprintf("Bring the operator back first: `kubectl scale deployment %s -n %s --replicas 1`", op.Deployment, f.Namespace)
	}
	// The live webhook decides; say so when it differs from what the release installed.
	policy := "failurePolicy " + op.FailurePolicy
	if op.WebhookLive {
		policy = "live failurePolicy " + op.FailurePolicy
		if op.ManifestFailurePolicy != op.FailurePolicy {
			policy += ", though the release manifest says " + op.ManifestFailurePolicy + ": it was changed in the cluster"
		}
	}
	switch {
	case op.Webhook != "" && op.WebhookErr != nil:
		return bad(Fail, down+"; whether its webhook "+op.Webhook+" would reject the IOMeshCluster write is unknown: "+op.WebhookErr.Error(), hint, "")
	case op.Webhook != "" && op.WebhookMissing:
		return bad(Warn, down+"; the release's webhook "+op.Webhook+" is not in the cluster (or no longer covers IOMeshClusters), so the change is accepted but no pods come until the operator is back", hint, "")
	case op.Webhook != "" && op.FailurePolicy == "Fail":
		return bad(Fail, down+"; it serves webhook "+op.Webhook+" ("+policy+"), so the API server would reject the IOMeshCluster write after Helm has recorded a failed revision", hint, "")
	case op.Webhook != "":
		return bad(Warn, down+"; webhook "+op.Webhook+" ignores the failure ("+policy+"), so the change is accepted but no pods come until the operator is back", hint, "")
	}
	return bad(Warn, down+": the change is accepted but no pods come until it is back", hint, "")
}

// GitOpsCheckID is the GitOps ownership check.
const GitOpsCheckID = "gitops.unmanaged"

func checkGitOps(f *Facts) Result {
	o := f.GitOps
	if o == nil {
		return pass("no GitOps controller's mark on the IOMeshCluster or the release")
	}
	why := fmt.Sprintf("%s owns this IOMesh cluster (%s): it reverts a change made outside Git, and for IOMesh a reverted scale-out removes chunk pods without unregistering their chunks", o, o.Evidence)
	inGit := "Make the change in Git instead"
	if e := f.GitOpsEdit(); e != nil {
		inGit = fmt.Sprintf("Make the change in Git instead: in %s set %s", e.Where, strings.Join(e.Flat(), ", "))
	}
	switch {
	case o.Read && o.Suspended:
		return bad(Warn, fmt.Sprintf("%s is suspended, so it will not revert the change now; it reverts it when resumed unless Git has the change", o), inGit+", before resuming it", "")
	case o.Read && o.Kind == gitops.ArgoApplication && !o.SelfHeal:
		return bad(Warn, fmt.Sprintf("%s does not heal itself, so the change stays until the next sync, which reverts it unless Git has the change", o), inGit+", before the next sync", "")
	}
	return bad(Fail, why, fmt.Sprintf("%s. To scale here anyway: %s first, then pass --skip-check %s", inGit, gitops.SuspendCommand(o), GitOpsCheckID), "")
}

func helmRef(f *Facts) string { return fmt.Sprintf("%s -n %s", f.Release, f.Namespace) }

// directNote is the release checks' verdict on a cluster that has no release.
const directNote = "no Helm release: the IOMeshCluster is managed directly"

func checkDeployed(f *Facts) Result {
	if f.Direct {
		return pass(directNote)
	}
	if f.ReleaseStatus == string(rcommon.StatusDeployed) {
		return pass("revision %d is deployed", f.Revision)
	}
	if helmops.Pending(f.ReleaseStatus) {
		return skip("revision %d is %s (see release.pending)", f.Revision, f.ReleaseStatus)
	}
	if helmops.Failed(f.ReleaseStatus) {
		hint := fmt.Sprintf("Find the cause with `helm history %s`, fix it, then run the same command again", helmRef(f))
		if f.LastDeployed > 0 {
			// Helm upgrades from the last deployed revision: a scale plans from its values.
			return bad(Warn, fmt.Sprintf("revision %d failed: %s; a scale starts from revision %d, the last deployed, and keeps revision %d in the history", f.Revision, strings.TrimSpace(f.ReleaseDescription), f.LastDeployed, f.Revision),
				hint+"; or "+rollbackAdvice(f), "")
		}
		return bad(Fail, fmt.Sprintf("revision %d failed: %s", f.Revision, strings.TrimSpace(f.ReleaseDescription)), hint, "")
	}
	return bad(Fail, fmt.Sprintf("revision %d is %s, not deployed", f.Revision, f.ReleaseStatus),
		fmt.Sprintf("Check `helm history %s`", helmRef(f)), "")
}

// lowering is the lower an earlier run recorded on the scale-in Lease (To < 0: none, or the
// Lease was not read).
func (f *Facts) lowering() inventory.Lowering {
	if f.ScaleIn != nil {
		return f.ScaleIn.Lowering
	}
	return inventory.Lowering{To: -1}
}

// ownPendingLower says the pending revision is the lower l this tool recorded on the Lease
// before Helm began (inventory.Lowering.Wrote): the scale-in's command then finishes it.
func (f *Facts) ownPendingLower(l inventory.Lowering) bool {
	n := f.Replicas.Chunk
	if l.Component == string(inventory.Meta) {
		n = f.Replicas.Meta
	}
	return f.ReleaseStatus == "pending-upgrade" && l.Wrote(int64(f.Revision), f.ReleaseDescription, n, f.ReplicasErr == nil)
}

func checkPending(f *Facts) Result {
	if f.Direct {
		return pass(directNote)
	}
	if !helmops.Pending(f.ReleaseStatus) {
		return pass("revision %d is %s", f.Revision, f.ReleaseStatus)
	}
	hint := "Wait for the running Helm operation to finish. If none is running, it was interrupted: "
	if l := f.lowering(); f.ownPendingLower(l) {
		// This tool's own lower (the Lease recorded it before Helm began): the scale that
		// continues it finishes the revision.
		hint += fmt.Sprintf("revision %d is this tool's lower (%s %d -> %d, recorded on the scale-in Lease); the scale-in's own command marks it failed once no run can still be writing it, then goes on", f.Revision, l.Component, l.From, l.To)
	} else {
		if f.LastDeployed > 0 {
			hint += rollbackAdvice(f)
		} else {
			hint += fmt.Sprintf("no earlier revision exists to roll back to; see `helm history %s`", helmRef(f))
		}
		if f.ReleaseStatus == "pending-upgrade" {
			hint += fmt.Sprintf(". If a scale-in of this tool was stopped while writing it, its own command (kept on Lease %s in namespace %s) finishes it instead", inventory.LeaseName(f.Release), f.Namespace)
		}
	}
	return bad(Fail, fmt.Sprintf("revision %d is %s: a Helm operation is in flight or was interrupted", f.Revision, f.ReleaseStatus), hint, "")
}

func checkCluster(f *Facts) Result {
	if f.Cluster.Err != nil {
		return bad(Error, f.Cluster.Err.Error(), "Check your access to iomeshclusters.iomesh.com", "")
	}
	if f.Cluster.Absent != nil {
		return bad(Fail, f.Cluster.Absent.Text, fmt.Sprintf("The IOMesh operator acts on the IOMeshCluster; without it new replica counts do nothing. Check `kubectl get iomesh -n %s` and the operator's logs", f.Namespace), DocPrerequisite)
	}
	return pass("IOMeshCluster %s found", f.Release)
}

func checkEdition(f *Facts) Result {
	src := f.Edition.Source.Describe()
	if f.Edition.Edition == edition.Enterprise {
		return pass("Enterprise edition (from %s) allows %d to %d chunk pods", src, edition.ChunkMin, edition.ChunkMax)
	}
	hint := "Scaling out needs the Enterprise edition: get an Enterprise licence from SmartX, activate it, and set iomesh.edition=enterprise"
	e := f.Edition.Edition
	if f.Target.Empty() {
		return bad(Warn, fmt.Sprintf("Community edition (from %s) cannot scale out beyond %d chunk and %d meta pods", src, e.MaxChunk(), e.MaxMeta()), hint, DocLicense)
	}
	if (f.TargetChunkOK && f.TargetChunk > e.MaxChunk()) || (f.TargetMetaOK && f.TargetMeta > e.MaxMeta()) {
		return bad(Fail, fmt.Sprintf("Community edition (from %s) allows at most %d chunk and %d meta pods; the target is %s", src, e.MaxChunk(), e.MaxMeta(), f.targetText()), hint, DocLicense)
	}
	return pass("Community edition (from %s); the target %s is within %d", src, f.targetText(), e.MaxChunk())
}

// targetText is the counts after the change, as people read them.
func (f *Facts) targetText() string {
	var t Target
	if f.TargetChunkOK {
		t.Chunk = &f.TargetChunk
	}
	if f.TargetMetaOK {
		t.Meta = &f.TargetMeta
	}
	if t.Empty() {
		return "unknown"
	}
	return t.String()
}

func checkQuota(f *Facts) Result {
	if f.License == nil {
		if f.Target.Chunk == nil {
			return skip("no licence to read: %s", f.LicenseMissing)
		}
		return bad(Warn, "cannot check the licence's chunk quota: "+f.LicenseMissing,
			fmt.Sprintf("Check the licence with `kubectl get iomesh %s -n %s -o jsonpath='{.status.license}'`", f.Release, f.Namespace), DocLicense)
	}
	if err := f.License.MaxChunkNumError(); err != nil {
		return bad(Warn, err.Error(), "Check status.license of the IOMeshCluster", DocLicense)
	}
	if f.License.MaxChunkNum == nil {
		return bad(Warn, "the licence states no maxChunkNum", "Check status.license of the IOMeshCluster", DocLicense)
	}
	allowed := *f.License.MaxChunkNum
	if !f.TargetChunkOK {
		return pass("the licence allows up to %d chunk pods", allowed)
	}
	if f.TargetChunk > allowed {
		return bad(Fail, fmt.Sprintf("%d chunk pods exceed the licence's maxChunkNum of %d", f.TargetChunk, allowed),
			fmt.Sprintf("Ask SmartX for a licence that covers %d nodes and update it, or scale to at most %d", f.TargetChunk, allowed), DocLicense)
	}
	return pass("%d chunk pods within the licence's maxChunkNum of %d", f.TargetChunk, allowed)
}

func checkExpiry(f *Facts) Result {
	if f.License == nil {
		return skip("no licence to read: %s", f.LicenseMissing)
	}
	days, has, err := f.License.DaysLeft(f.Now)
	if err != nil {
		return bad(Warn, err.Error(), "Check status.license.expirationDate of the IOMeshCluster", DocLicense)
	}
	if !has {
		return pass("%s licence never expires", orWord(f.License.LicenseType, "the"))
	}
	if days < 0 {
		return bad(Fail, fmt.Sprintf("the licence expired on %s (%d days ago)", f.License.ExpirationDate, -days),
			"Renew the licence with SmartX and update it before scaling", DocLicense)
	}
	if days <= ExpiryWarning {
		return bad(Warn, fmt.Sprintf("the licence expires on %s, in %d days", f.License.ExpirationDate, days),
			"Renew the licence with SmartX soon", DocLicense)
	}
	return pass("the licence expires on %s, in %d days", f.License.ExpirationDate, days)
}

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func checkChunkMin(f *Facts) Result {
	if f.Target.Chunk == nil {
		return skip("no --chunk target")
	}
	if f.TargetChunk < edition.ChunkMin {
		return bad(Fail, fmt.Sprintf("IOMesh needs at least %d chunk pods; the target is %d", edition.ChunkMin, f.TargetChunk),
			fmt.Sprintf("Choose --chunk %d or more", edition.ChunkMin), DocScaleOut)
	}
	return pass("%d chunk pods is at least %d", f.TargetChunk, edition.ChunkMin)
}

func checkChunkMax(f *Facts) Result {
	if f.Target.Chunk == nil {
		return skip("no --chunk target")
	}
	if f.TargetChunk > edition.ChunkMax {
		return bad(Fail, fmt.Sprintf("IOMesh allows at most %d chunk pods; the target is %d", edition.ChunkMax, f.TargetChunk),
			fmt.Sprintf("Choose --chunk %d or less", edition.ChunkMax), DocScaleOut)
	}
	return pass("%d chunk pods is at most %d", f.TargetChunk, edition.ChunkMax)
}

// scaleIn is the shared shape of the no-scale-in checks; refuse says why a lower count is refused.
func scaleIn(f *Facts, target *int, to, cur int, component string, refuse func() Result) Result {
	if target == nil {
		return skip("no --%s target", component)
	}
	if f.ReplicasErr != nil {
		return bad(Error, fmt.Sprintf("cannot read the current %s count: %s", component, f.ReplicasErr), "Fix the release values so the count is a number", "")
	}
	if to < cur {
		return refuse()
	}
	if to == cur {
		return pass("%s pods stay at %d", component, cur)
	}
	return pass("%s pods go from %d to %d", component, cur, to)
}

func checkMetaCount(f *Facts) Result {
	if f.Target.Meta == nil {
		return skip("no --meta target")
	}
	if !edition.MetaAllowed(f.TargetMeta) {
		return bad(Fail, fmt.Sprintf("IOMesh supports %d or %d meta pods; the target is %d", edition.MetaSmall, edition.MetaLarge, f.TargetMeta),
			fmt.Sprintf("Choose --meta %d or --meta %d (%d is advised from %d IOMesh nodes on)", edition.MetaSmall, edition.MetaLarge, edition.MetaLarge, edition.MetaLargeFrom), DocScaleOut)
	}
	return pass("%d meta pods is supported", f.TargetMeta)
}

func checkMetaFive(f *Facts) Result {
	if !f.TargetChunkOK || !f.TargetMetaOK {
		return skip("counts unknown")
	}
	if f.TargetChunk >= edition.MetaLargeFrom && f.TargetMeta < edition.MetaLarge {
		return bad(Warn, fmt.Sprintf("%d nodes will run chunk pods but only %d meta pods", f.TargetChunk, f.TargetMeta),
			fmt.Sprintf("%d meta pods are advised from %d IOMesh nodes on: add --meta %d", edition.MetaLarge, edition.MetaLargeFrom, edition.MetaLarge), DocScaleOut)
	}
	return pass("%d meta pods for %d chunk pods", f.TargetMeta, f.TargetChunk)
}

func checkNodes(f *Facts, s placement.Summary, target int, ok bool, component string) Result {
	if f.PolicyErr != nil {
		return bad(Error, f.PolicyErr.Error(), "Fix the podPolicy in the release values", "")
	}
	if f.RequestsErr != nil {
		return bad(Error, f.RequestsErr.Error(), "Fix the resources in the release values", "")
	}
	if !ok {
		return skip("the %s count is unknown", component)
	}
	needed := target - s.Hosting
	note := ""
	if f.RoomErr != nil {
		note = fmt.Sprintf(" (room on the nodes not checked: %v)", f.RoomErr)
	}
	left := ""
	if component == "chunk" {
		// One line per node the readiness checks left out.
		for _, l := range f.LeftOut {
			left += "\nleft out " + l
		}
	}
	note += left
	if needed <= s.Free {
		if needed <= 0 {
			return pass("%s a %s pod; %d more could take one%s", output.N(s.Hosting, "node runs", "nodes run"), component, s.Free, note)
		}
		return pass("%s %s; %s eligible%s", output.N(needed, "new "+component+" pod needs", "new "+component+" pods need"), output.Plural(needed, "node"), output.N(s.Free, "is", "are"), note)
	}
	return bad(Fail,
		fmt.Sprintf("%d %s pods need %s: %d run one and only %d more %s eligible (%s)%s", target, component, output.Plural(target, "node"), s.Hosting, s.Free, output.Agree(s.Free, "is", "are"), whyNot(s), left),
		fmt.Sprintf("Each worker node holds at most one %s pod: add worker nodes, uncordon or untaint nodes, or widen iomesh.%s.podPolicy; see per-node reasons with `kubectl iomesh preflight -o wide`", component, component),
		DocScaleOut)
}

// whyNot summarises why nodes are not eligible, the most common reason first, each with the
// nodes it holds for (a handful, then how many more).
func whyNot(s placement.Summary) string {
	nodes := map[string][]string{}
	for _, n := range s.Nodes {
		if n.Eligible || n.Hosts != "" {
			continue
		}
		for _, r := range n.Reasons {
			nodes[r] = append(nodes[r], n.Name)
		}
	}
	if len(nodes) == 0 {
		return fmt.Sprintf("%d nodes in the cluster", len(s.Nodes))
	}
	reasons := make([]string, 0, len(nodes))
	for r := range nodes {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if len(nodes[reasons[i]]) != len(nodes[reasons[j]]) {
			return len(nodes[reasons[i]]) > len(nodes[reasons[j]])
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s: %s", len(nodes[r]), r, someOf(nodes[r], namedNodes))
	}
	return strings.Join(parts, "; ")
}

// namedNodes is how many nodes a reason names before "and N more".
const namedNodes = 5

// someOf joins the first n names, then says how many more there are.
func someOf(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// podsExpected is how many of a component's pods must exist: the values' count, or, while a
// lower this tool recorded explains counts that disagree (its write failed once Helm had
// applied part of it), that lower's count: the pods above it may already be gone.
func (f *Facts) podsExpected(c inventory.Component, values int) int {
	for _, n := range f.Counts {
		if _, explained, _ := n.Agreement(); explained && n.Component == string(c) {
			return min(values, n.Lowering.To)
		}
	}
	return values
}

func checkPods(f *Facts) Result {
	var notReady []string
	check := func(pods []corev1.Pod) int {
		n := 0
		for i := range pods {
			if output.PodReady(&pods[i]) {
				n++
			} else {
				r := output.PodRowOf(&pods[i], f.Now)
				notReady = append(notReady, fmt.Sprintf("%s (%s, %s ready)", r.Name, r.Status, r.Ready))
			}
		}
		return n
	}
	chunkReady, metaReady := check(f.ChunkPods), check(f.MetaPods)
	var short []string
	if f.ReplicasErr == nil && f.Replicas.Layout != "" {
		if want := f.podsExpected(inventory.Chunk, f.Replicas.Chunk); len(f.ChunkPods) < want {
			short = append(short, fmt.Sprintf("%d of %d chunk pods exist", len(f.ChunkPods), want))
		}
		if want := f.podsExpected(inventory.Meta, f.Replicas.Meta); len(f.MetaPods) < want {
			short = append(short, fmt.Sprintf("%d of %d meta pods exist", len(f.MetaPods), want))
		}
	}
	if len(notReady) == 0 && len(short) == 0 {
		return pass("all %d chunk and %d meta pods are Ready", chunkReady, metaReady)
	}
	reason := strings.Join(append(short, notReady...), "; ")
	if len(notReady) > 0 {
		reason = "not Ready: " + reason
	}
	return bad(Fail, reason,
		fmt.Sprintf("Bring every chunk and meta pod to Ready before changing the cluster: `kubectl describe pod -n %s <pod>`", f.Namespace), "")
}

func checkDisks(f *Facts) Result {
	if f.Target.Chunk != nil && f.ReplicasErr == nil && *f.Target.Chunk < f.Replicas.Chunk {
		return skip("chunk pods are removed, none added")
	}
	if f.DisksErr != nil {
		return bad(Error, f.DisksErr.Error(), "Check your access to blockdevices.openebs.io", "")
	}
	if a := f.DisksAbsent; a != nil && a.Reason == inventory.NotPermitted {
		return skip("%s, so disks cannot be checked", a.Text)
	}
	if a := f.DisksAbsent; a != nil {
		return skip("%s: IOMesh's node disk manager is not running here, so disks cannot be checked", a.Text)
	}
	if !f.DisksRead {
		return skip("BlockDevices not read")
	}
	if f.Cluster.Object == nil {
		return skip("no IOMeshCluster to read the deviceMap from (see cluster.present)")
	}
	if f.NewChunkDisksErr != nil {
		return bad(Error, f.NewChunkDisksErr.Error(), fmt.Sprintf("Fix spec.chunk.deviceMap with `kubectl edit iomesh %s -n %s`", f.Release, f.Namespace), DocSetup)
	}
	if f.DeviceMap.Empty() {
		return bad(Warn, "spec.chunk.deviceMap is empty: no disk is mounted on any node, so chunk pods add no capacity",
			fmt.Sprintf("Map the disks (`kubectl get bd -n %s -o wide`) with `kubectl edit iomesh %s -n %s`, as the IOMesh setup step describes", f.Namespace, f.Release, f.Namespace), DocSetup)
	}
	if len(f.NewChunkDisks) == 0 {
		return pass("no node is eligible for a new chunk pod (see nodes.eligible-chunk)")
	}
	var none, lacking []string
	count, bytes := 0, int64(0)
	for _, n := range f.NewChunkDisks {
		count += n.Count()
		bytes += n.Bytes
		if n.Count() == 0 {
			none = append(none, n.Node)
		} else if len(n.Lacking) > 0 {
			lacking = append(lacking, fmt.Sprintf("%s (no %s)", n.Node, strings.Join(n.Lacking, ", ")))
		}
	}
	if len(none) > 0 || len(lacking) > 0 {
		var parts []string
		if len(none) > 0 {
			parts = append(parts, fmt.Sprintf("%s no usable disk: %s", output.N(len(none), "eligible node has", "eligible nodes have"), strings.Join(none, ", ")))
		}
		if len(lacking) > 0 {
			parts = append(parts, fmt.Sprintf("%s mode needs %s; missing on %s", f.DeviceMap.Mode, strings.Join(f.DeviceMap.Required(), " and "), strings.Join(lacking, ", ")))
		}
		return bad(Warn, strings.Join(parts, "; "),
			fmt.Sprintf("A chunk pod on such a node adds no capacity: add unformatted disks (FSTYPE blank) or widen the deviceMap selectors; see `kubectl get bd -n %s -o wide` and `kubectl iomesh preflight -o wide`", f.Namespace), DocSetup)
	}
	return pass("%s %s, %s raw, for %s mode", output.N(len(f.NewChunkDisks), "eligible node has", "eligible nodes have"), output.Plural(count, "usable disk"), placement.HumanBytes(bytes), f.DeviceMap.Mode)
}

// storageMissing says why IOMesh's view cannot be read at all, or "".
func storageMissing(f *Facts) string {
	if f.Cluster.Err != nil {
		return f.Cluster.Err.Error()
	}
	if f.Cluster.Absent != nil {
		return "no IOMeshCluster (see cluster.present)"
	}
	return ""
}

func checkTasks(f *Facts) Result {
	if why := storageMissing(f); why != "" {
		return skip("%s", why)
	}
	s := f.Storage
	if !s.TaskReported {
		return skip("status.taskInProcess is %s", iomeshcluster.NotReported)
	}
	if s.TaskInProcess != "" {
		return bad(Fail, fmt.Sprintf("IOMesh reports a task in process: %s", s.TaskInProcess),
			fmt.Sprintf("Wait until data recovery and migration are done before changing the cluster; watch with `kubectl get iomesh %s -n %s -w -o jsonpath='{.status.taskInProcess}{\"\\n\"}'`", f.Release, f.Namespace), DocReplaceDisk)
	}
	return pass("no task in process")
}

func checkChunks(f *Facts) Result {
	if why := storageMissing(f); why != "" {
		return skip("%s", why)
	}
	s := f.Storage
	if !s.Summary {
		return skip("status.summary.chunkSummary is %s", iomeshcluster.NotReported)
	}
	var problems []string
	for _, c := range s.Chunks {
		if !c.Healthy() {
			where := c.IP
			if c.MatchedNode != "" {
				where = c.MatchedNode
			}
			problems = append(problems, fmt.Sprintf("chunk %d on %s is %s", c.ID, orWord(where, "an unknown node"), orWord(c.Status, "in no reported state")))
		}
	}
	// A pod whose chunk an earlier scale-in unregistered serves none, as planned.
	gone := map[string]bool{}
	if f.ScaleIn != nil {
		for _, r := range f.ScaleIn.Removals {
			gone[r.Pod] = r.Unregistered
		}
	}
	running := 0
	for i := range f.ChunkPods {
		if output.PodReady(&f.ChunkPods[i]) && !gone[f.ChunkPods[i].Name] {
			running++
		}
	}
	if len(s.Chunks) < running {
		problems = append(problems, fmt.Sprintf("%s registered for %s", output.Plural(len(s.Chunks), "chunk"), output.Plural(running, "Ready chunk pod")))
	}
	if len(problems) > 0 {
		return bad(Warn, strings.Join(problems, "; "),
			fmt.Sprintf("A chunk that is not CONNECTED_HEALTHY serves no storage: check the chunk pod's logs (`kubectl logs -n %s <pod> -c zbs-chunkd`) and `kubectl describe iomesh %s -n %s`", f.Namespace, f.Release, f.Namespace), "")
	}
	return pass("%s registered, all healthy", output.Plural(len(s.Chunks), "chunk"))
}

func checkLeader(f *Facts) Result {
	if why := storageMissing(f); why != "" {
		return skip("%s", why)
	}
	s := f.Storage
	hint := fmt.Sprintf("Check the meta pods (`kubectl get pod -n %s -l %s`) and `kubectl describe iomesh %s -n %s`", f.Namespace, iomeshcluster.LeaderLabel, f.Release, f.Namespace)
	if len(f.LeaderPods) > 1 {
		return bad(Warn, fmt.Sprintf("%d meta pods carry %s: %s", len(f.LeaderPods), iomeshcluster.LeaderLabel, strings.Join(f.LeaderPods, ", ")), hint, "")
	}
	if s.MetaReported && s.MetaLeader == "" {
		return bad(Warn, "IOMesh reports no meta leader (metaSummary.leader is empty)", hint, "")
	}
	if len(f.LeaderPods) == 0 && s.MetaReported {
		return bad(Warn, fmt.Sprintf("IOMesh reports meta leader %s but no meta pod carries %s", s.MetaLeader, iomeshcluster.LeaderLabel), hint, "")
	}
	if len(f.LeaderPods) == 0 {
		// Neither a label nor a summary: an IOMesh that reports nothing, not a failure.
		return skip("no meta pod carries %s and metaSummary is %s", iomeshcluster.LeaderLabel, iomeshcluster.NotReported)
	}
	if s.MetaReported {
		// The leader's address is on the storage network (dataCIDR), which need not be the pod's:
		// both are shown, and no warning rests on their differing.
		return pass("meta leader is %s (IOMesh reports %s; pod IP %s)", f.LeaderPods[0], s.MetaLeader, podIP(f, f.LeaderPods[0]))
	}
	return pass("meta leader is %s", f.LeaderPods[0])
}

// podIP is the IP of the meta pod name, or "<none>".
func podIP(f *Facts, name string) string {
	for _, p := range f.MetaPods {
		if p.Name == name && p.Status.PodIP != "" {
			return p.Status.PodIP
		}
	}
	return "<none>"
}

func checkRBAC(f *Facts) Result {
	p := f.Permissions
	if !p.Checked {
		return skip("permissions not checked")
	}
	if p.Err != nil {
		return bad(Error, p.Err.Error(), "Check that you can create SelfSubjectRulesReviews (every authenticated user can by default)", "")
	}
	if len(p.Missing) == 0 {
		return pass("you have every permission a scale needs")
	}
	first := p.Missing[0]
	what := first.Resource
	if first.Name != "" {
		what += "/" + first.Name
	}
	role := "scale"
	if f.Direct {
		role = "direct"
	}
	if f.Release != "iomesh" {
		role += " --release " + f.Release
	}
	return bad(Fail, fmt.Sprintf("missing %s a scale needs:\n%s", output.Plural(len(p.Missing), "permission"), strings.Join(access.Group(p.Missing), "\n")),
		fmt.Sprintf("Ask a cluster admin to apply `kubectl iomesh rbac %s -n %s --user <you> | kubectl apply -f -`; check with `kubectl auth can-i %s %s -n %s`", role, f.Namespace, first.Verb, what, f.Namespace), "")
}

// rollbackAdvice is how to return to the last deployed revision: `helm rollback` only when that
// revision has at least as many chunk and meta pods as run now, since a rollback to fewer removes
// chunk pods without unregistering their chunks; otherwise the way back that unregisters first.
func rollbackAdvice(f *Facts) string {
	r := f.LastDeployedReplicas
	if r != nil && r.Chunk >= len(f.ChunkPods) && r.Meta >= len(f.MetaPods) {
		return fmt.Sprintf("return to revision %d with `helm rollback %s %d -n %s`", f.LastDeployed, f.Release, f.LastDeployed, f.Namespace)
	}
	counts := "counts that are not known"
	if r != nil {
		counts = fmt.Sprintf("%d chunk and %d meta pods while %d and %d run", r.Chunk, r.Meta, len(f.ChunkPods), len(f.MetaPods))
	}
	return fmt.Sprintf("do not `helm rollback` to revision %d: it has %s, and a rollback to fewer chunk pods removes them without unregistering their chunks. Finish with the same `kubectl iomesh scale` command, or scale in with `kubectl iomesh scale --chunk N`, which unregisters each chunk first", f.LastDeployed, counts)
}
