package access

import (
	"strings"
	"testing"
)

func TestGroup(t *testing.T) {
	got := Group([]Need{
		{Verb: "update", Resource: "secrets", Namespace: "iomesh-system"},
		{Verb: "patch", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Verb: "create", Resource: "secrets", Namespace: "iomesh-system"},
		{Verb: "list", Resource: "nodes"},
		{Verb: "get", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Verb: "patch", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: "a-ns"},
	})
	want := []string{
		"cluster-wide: get, patch clusterroles.rbac.authorization.k8s.io",
		"cluster-wide: list nodes",
		"namespace a-ns: patch iomeshclusters.iomesh.com",
		"namespace iomesh-system: create, update secrets",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
