package view

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
)

func helmPlan() *scaleplan.Plan {
	return &scaleplan.Plan{
		Context: "prod", Namespace: "iomesh-system", Release: "iomesh", Chart: "iomesh", ChartVersion: "v1.0.1",
		ChartSource: "iomesh/iomesh", FromRevision: 4, ToRevision: 5,
		Chunk: scaleplan.CountChange{From: 3, To: 5, Nodes: []string{"n3", "n4"}}, Meta: scaleplan.CountChange{From: 3, To: 3},
		ValueChanges: []scaleplan.ValueChange{{Path: "iomesh.chunk.replicaCount", Old: "3", New: "5"}, {Path: "iomesh.meta.replicaCount", New: "3"}},
		Disks:        &scaleplan.DiskRoom{Nodes: 2, Disks: 1, RawBytes: 4 << 40},
		Guard: &scaleplan.Guard{Objects: 73, Scale: []render.Change{{Object: "StatefulSet x", Path: "spec.replicas"}},
			Kept:   []string{"CustomResourceDefinition volumesnapshots.snapshot.storage.k8s.io"},
			Pinned: []scaleplan.PinnedObject{{Object: "Secret iomesh-system/iomesh-webhook-cert", Fields: []string{"data.ca.crt", "data.tls.crt"}}, {Object: "ValidatingWebhookConfiguration iomesh", Fields: []string{"webhooks[0].clientConfig.caBundle"}}},
			Fresh:  []string{"Secret iomesh-system/new data.key", "Secret iomesh-system/new2 data.key"}},
	}
}

func TestWritePlanHelm(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlan(&b, helmPlan()); err != nil {
		t.Fatal(err)
	}
	want := `Plan:
  Context:   prod
  Namespace: iomesh-system
  Release:   iomesh, revision 4 -> 5
  Chart:     iomesh-v1.0.1 (unchanged) from iomesh/iomesh
  Chunk:     3 -> 5; new pods can land on n3, n4
  Meta:      3 (unchanged)
  Disks:     up to 1 disk, 4Ti raw on the 2 eligible nodes (an upper bound: the scheduler picks the nodes)
  Values:    iomesh.chunk.replicaCount: 3 -> 5
             iomesh.meta.replicaCount: (not set) -> 3
             every other value is kept as deployed
  Render:    73 objects; 1 field changes, all from the replica counts; nothing else differs from what is deployed
             CustomResourceDefinition volumesnapshots.snapshot.storage.k8s.io left the chart's output but stays in the cluster (helm.sh/resource-policy: keep)
  Kept:      Secret iomesh-system/iomesh-webhook-cert data.ca.crt, data.tls.crt
             ValidatingWebhookConfiguration iomesh webhooks[0].clientConfig.caBundle
             (generated anew at every render; the deployed values are kept)
  Generated: Secret iomesh-system/new data.key (random, in an object new to the release: as rendered)
             Secret iomesh-system/new2 data.key (random, in an object new to the release: as rendered)
`
	if got := b.String(); got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestWritePlanMinimalAndAtTarget(t *testing.T) {
	p := &scaleplan.Plan{Namespace: "ns", Release: "r", Chart: "iomesh", ChartVersion: "v1.0.0", FromRevision: 2, ToRevision: 2, AtTarget: true,
		Chunk: scaleplan.CountChange{From: 4, To: 4}, Meta: scaleplan.CountChange{From: 3, To: 5}, Guard: &scaleplan.Guard{Objects: 1}}
	var b bytes.Buffer
	if err := WritePlan(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `Plan:
  Namespace: ns
  Release:   r, revision 2 (already at the target: no upgrade)
  Chart:     iomesh-v1.0.0 (unchanged)
  Chunk:     4 (unchanged)
  Meta:      3 -> 5
  Render:    1 object; 0 fields change, all from the replica counts; nothing else differs from what is deployed
`
	if got := b.String(); got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestWritePlanDirect(t *testing.T) {
	p := &scaleplan.Plan{Namespace: "ns", Release: "c1", Chunk: scaleplan.CountChange{From: 3, To: 4, Nodes: []string{"n3"}}, Meta: scaleplan.CountChange{From: 3, To: 3},
		Disks: &scaleplan.DiskRoom{Nodes: 1, Disks: 2, RawBytes: 1 << 30},
		Direct: &scaleplan.DirectChange{Kind: "IOMeshCluster", Name: "c1", ResourceVersion: "77", ServerDryRun: true,
			Fields: []scaleplan.ValueChange{{Path: "spec.chunk.replicas", Old: "3", New: "4"}, {Path: "spec.meta.replicas", Old: "3", New: "3"}}}}
	var b bytes.Buffer
	if err := WritePlan(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `Plan:
  Namespace: ns
  Managed:   directly: IOMeshCluster c1 has no Helm release
  Chunk:     3 -> 4; new pods can land on n3
  Meta:      3 (unchanged)
  Disks:     up to 2 disks, 1Gi raw on the 1 eligible node (an upper bound: the scheduler picks the nodes)
  Patch:     spec.chunk.replicas: 3 -> 4
             spec.meta.replicas: 3 -> 3
             only if the object is still at resourceVersion 77; every other field is left as it is
  Server:    the API server accepted the patch in a dry run
`
	if got := b.String(); got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}
	p.AtTarget, p.Direct.ServerDryRun, p.Disks = true, false, nil
	b.Reset()
	if err := WritePlan(&b, p); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasSuffix(got, "  Meta:      3 (unchanged)\n  Patch:     none: already at the target\n") {
		t.Fatalf("direct plan at the target:\n%s", got)
	}
}

func TestWriteGuardNamesEveryDifference(t *testing.T) {
	var changed []render.Change
	for i := 0; i < 41; i++ {
		changed = append(changed, render.Change{Object: "ConfigMap a", Path: fmt.Sprintf("data.k%02d", i), Old: "1", New: "2"})
	}
	g := scaleplan.Guard{
		Drift:       render.Diff{Removed: []string{"Service gone"}, Added: []string{"Service new"}},
		Unexplained: render.Diff{Changed: changed},
	}
	var b bytes.Buffer
	WriteGuard(&b, g)
	got := b.String()
	for _, want := range []string{
		"The chart, rendered now with the current values, differs from what is deployed:\n  - Service gone would be deleted\n  + Service new would be created\n",
		"The new values change more than the replica counts:\n  ~ " + changed[0].String() + "\n",
		"  ~ " + changed[39].String() + "\n  ... and 1 more changed field\n",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("no %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, changed[40].String()) {
		t.Fatalf("more than 40 changed fields printed:\n%s", got)
	}
	b.Reset()
	WriteGuard(&b, scaleplan.Guard{})
	if b.Len() != 0 {
		t.Fatalf("a passing guard explained: %q", b.String())
	}
}

// The nodes the readiness checks left out are named under the chunk count, one row each.
func TestWritePlanNamesNodesLeftOut(t *testing.T) {
	p := helmPlan()
	p.Chunk.LeftOut = []string{"n5: iSCSI not prepared (nodes.iscsi-prepared)", "n6: CSI node plugin not Ready (nodes.csi-node-ready)"}
	var b bytes.Buffer
	if err := WritePlan(&b, p); err != nil {
		t.Fatal(err)
	}
	want := "  Chunk:     3 -> 5; new pods can land on n3, n4\n  Left out:  n5: iSCSI not prepared (nodes.iscsi-prepared)\n  Left out:  n6: CSI node plugin not Ready (nodes.csi-node-ready)\n  Meta:"
	if !strings.Contains(b.String(), want) {
		t.Fatalf("plan:\n%s\nwant:\n%s", b.String(), want)
	}
}
