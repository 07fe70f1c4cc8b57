package scale

import (
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
)

// The engine's messages name what each way of writing changed.
func TestJobMessages(t *testing.T) {
	p := &job{Plan: &scaleplan.Plan{Release: "r", FromRevision: 2, ToRevision: 2}, w: &helmWriter{}}
	if p.subject() != "Release r" || p.stays() != "the upgrade stays applied (revision 2)" || p.done() != "the release is upgraded (revision 2)" {
		t.Fatalf("messages: %q %q %q", p.subject(), p.stays(), p.done())
	}
	p = &job{Plan: &scaleplan.Plan{Release: "c1"}, w: &patchWriter{}}
	if p.subject() != "IOMeshCluster c1" || p.stays() != "the patch to IOMeshCluster c1 stays applied" || p.done() != "IOMeshCluster c1 is patched" {
		t.Fatalf("messages: %q %q %q", p.subject(), p.stays(), p.done())
	}
}

func TestGuardFreshFieldsOfNewObjects(t *testing.T) {
	extra := strings.Replace(strings.Replace(secret, "iomesh-webhook-cert", "extra-cert", 1), "%s", "%s", 1)
	g, err := Check(Renders{
		Deployed: manifest("OLD", 3),
		Current:  manifest("A", 3) + strings.Replace(extra, "%s", "X1", 1),
		Again:    manifest("B", 3) + strings.Replace(extra, "%s", "X2", 1),
		New:      manifest("C", 5) + strings.Replace(extra, "%s", "X3", 1),
	}, counts)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Fresh) != 1 || g.Fresh[0] != "Secret iomesh-system/extra-cert data.tls.crt" {
		t.Fatalf("fresh %q", g.Fresh)
	}
	if _, ok := g.Pins["Secret iomesh-system/extra-cert"]; ok || len(g.Pinned) != 1 {
		t.Fatalf("a field the deployed release lacks was pinned: %+v", g.Pinned)
	}
	if len(g.Drift.Added) != 1 {
		t.Fatalf("the new object is drift: %+v", g.Drift)
	}
}
