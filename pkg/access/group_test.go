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
		{Verb: "patch", Resource: "secrets", Namespace: "iomesh-system", Name: "cert"},
		{Verb: "get", Resource: "secrets", Namespace: "iomesh-system", Name: "cert"},
		{Verb: "get", Resource: "secrets", Namespace: "iomesh-system", Name: "another"},
	})
	want := []string{
		"cluster-wide: get, patch clusterroles.rbac.authorization.k8s.io",
		"cluster-wide: list nodes",
		"namespace a-ns: patch iomeshclusters.iomesh.com",
		"namespace iomesh-system: create, update secrets",
		"namespace iomesh-system: get, patch secrets another, cert",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
