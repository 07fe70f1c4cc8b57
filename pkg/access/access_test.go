package access

import (
	"context"
	"errors"
	"strings"
	"testing"

	authv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestResource(t *testing.T) {
	for kind, want := range map[string]string{
		"Pod": "pods", "StorageClass": "storageclasses", "Ingress": "ingresses", "Policy": "policies",
		"Gateway": "gateways", "Key": "keys", "Endpoints": "endpoints", "Mesh": "meshes", "Patch": "patches", "Box": "boxes",
	} {
		if got := Resource(kind); got != want {
			t.Errorf("Resource(%s) = %s, want %s", kind, got, want)
		}
	}
}

func TestCovered(t *testing.T) {
	need := Need{Verb: "patch", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: "ns"}
	for name, tc := range map[string]struct {
		rule authv1.ResourceRule
		want bool
	}{
		"exact":          {authv1.ResourceRule{Verbs: []string{"get", "patch"}, APIGroups: []string{"iomesh.com"}, Resources: []string{"iomeshclusters"}}, true},
		"wildcards":      {authv1.ResourceRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, true},
		"other verb":     {authv1.ResourceRule{Verbs: []string{"get"}, APIGroups: []string{"iomesh.com"}, Resources: []string{"iomeshclusters"}}, false},
		"other group":    {authv1.ResourceRule{Verbs: []string{"patch"}, APIGroups: []string{""}, Resources: []string{"iomeshclusters"}}, false},
		"other resource": {authv1.ResourceRule{Verbs: []string{"patch"}, APIGroups: []string{"iomesh.com"}, Resources: []string{"pods"}}, false},
		"named objects":  {authv1.ResourceRule{Verbs: []string{"patch"}, APIGroups: []string{"iomesh.com"}, Resources: []string{"iomeshclusters"}, ResourceNames: []string{"iomesh"}}, false},
		"nothing at all": {authv1.ResourceRule{}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Covered([]authv1.ResourceRule{tc.rule}, need); got != tc.want {
				t.Errorf("%s: %v, want %v", name, got, tc.want)
			}
		})
	}
	// A need for one object: a rule naming it covers it, one naming others does not.
	named := need
	named.Name = "iomesh"
	for names, want := range map[string]bool{"iomesh": true, "other": false, "a,iomesh": true, "": true} {
		rule := authv1.ResourceRule{Verbs: []string{"patch"}, APIGroups: []string{"iomesh.com"}, Resources: []string{"iomeshclusters"}}
		if names != "" {
			rule.ResourceNames = strings.Split(names, ",")
		}
		if got := Covered([]authv1.ResourceRule{rule}, named); got != want {
			t.Errorf("names %q cover %s: %v, want %v", names, named, got, want)
		}
	}
}

// reviews answers the rules review with rules (incomplete as told) and each access review from
// allowed, counting the access reviews.
func reviews(rules []authv1.ResourceRule, incomplete bool, allowed map[string]bool, accessReviews *int) *fake.Clientset {
	kube := fake.NewSimpleClientset()
	kube.PrependReactor("create", "selfsubjectrulesreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authv1.SelfSubjectRulesReview{Status: authv1.SubjectRulesReviewStatus{ResourceRules: rules, Incomplete: incomplete}}, nil
	})
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		*accessReviews++
		ra := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview).Spec.ResourceAttributes
		return true, &authv1.SelfSubjectAccessReview{Status: authv1.SubjectAccessReviewStatus{Allowed: allowed[ra.Verb+" "+ra.Resource+" "+ra.Name]}}, nil
	})
	return kube
}

// readNeeds are five permissions: three in namespace ns, two cluster-wide.
var readNeeds = []Need{
	{Verb: "list", Resource: "secrets", Namespace: "ns"},
	{Verb: "get", Group: "iomesh.com", Resource: "iomeshclusters", Namespace: "ns", Name: "iomesh"},
	{Verb: "list", Group: "apps", Resource: "statefulsets", Namespace: "ns"},
	{Verb: "list", Resource: "pods", Namespace: "ns"},
	{Verb: "list", Resource: "nodes"},
}

func TestMissing(t *testing.T) {
	rules := []authv1.ResourceRule{{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"secrets", "pods"}}}
	needs := readNeeds
	n := 0
	missing, err := Missing(context.Background(), reviews(rules, false, map[string]bool{"list nodes ": true}, &n), "ns", needs)
	if err != nil {
		t.Fatal(err)
	}
	// The namespace's answer is complete: only the cluster-wide need is asked about, and allowed.
	if n != 1 || len(missing) != 2 || missing[0].Resource != "iomeshclusters" || missing[1].Resource != "statefulsets" {
		t.Fatalf("%d access reviews, missing %v", n, missing)
	}
	// An incomplete rules review (a webhook authorizer may allow more): every uncovered need is
	// asked about exactly.
	n = 0
	missing, err = Missing(context.Background(), reviews(rules, true, map[string]bool{"get iomeshclusters iomesh": true}, &n), "ns", needs)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(missing) != 2 || missing[0].Resource != "statefulsets" || missing[1].Resource != "nodes" {
		t.Fatalf("%d access reviews, missing %v", n, missing)
	}
}

func TestMissingErrors(t *testing.T) {
	kube := fake.NewSimpleClientset()
	kube.PrependReactor("create", "selfsubjectrulesreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	if _, err := Missing(context.Background(), kube, "ns", readNeeds); err == nil || !strings.Contains(err.Error(), "what you may do in namespace ns") {
		t.Fatalf("rules review failure: %v", err)
	}
	n := 0
	kube = reviews(nil, false, nil, &n)
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("boom")
	})
	if _, err := Missing(context.Background(), kube, "ns", readNeeds); err == nil || !strings.Contains(err.Error(), "whether you may list nodes (cluster-wide)") {
		t.Fatalf("access review failure: %v", err)
	}
}

// Either direction asks for every read and write of the scale-in Lease it makes: a scale-out
// reads it and clears one a killed run left; only a scale-in creates it or execs.
func TestScaleNeedsTheLeaseBothWays(t *testing.T) {
	s := Scope{Namespace: "iomesh-system", Release: "iomesh", Lease: "iomesh-scale-in", MetaPods: 3, ChunkPods: 5}
	for _, c := range []struct {
		name  string
		needs []Need
		in    bool
	}{{"scale-out", ScaleNeeds(s, false), false}, {"scale-in", ScaleNeeds(s, true), true}, {"direct scale-out", DirectScaleNeeds(s, false), false}, {"direct scale-in", DirectScaleNeeds(s, true), true}} {
		has := map[string]bool{}
		for _, n := range c.needs {
			if n.Resource == "leases" || n.Resource == "pods/exec" {
				has[n.Resource+" "+n.Verb+" "+n.Name] = true
			}
		}
		for _, v := range []string{"get", "update", "delete"} {
			if !has["leases "+v+" iomesh-scale-in"] {
				t.Errorf("%s: does not ask for %s on Lease iomesh-scale-in (%v)", c.name, v, has)
			}
		}
		if has["leases create "] != c.in || has["pods/exec create iomesh-meta-0"] != c.in {
			t.Errorf("%s: Lease create and exec asked for: %v, want %v (%v)", c.name, has["leases create "], c.in, has)
		}
	}
}
