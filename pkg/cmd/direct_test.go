package cmd

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// directCluster is an IOMeshCluster with 3 chunk and 3 meta pods and no Helm release.
func directCluster(t *testing.T, withRelease bool) tf.Clients {
	t.Helper()
	objs := clusterObjects(5, 3, 3, "enterprise", testLicense(8, "2027-06-30"))
	for _, o := range objs {
		if cr, ok := o.(*unstructured.Unstructured); ok {
			_ = unstructured.SetNestedField(cr.Object, int64(3), "spec", "chunk", "replicas")
			_ = unstructured.SetNestedField(cr.Object, int64(3), "spec", "meta", "replicas")
			cr.SetResourceVersion("41")
			if withRelease {
				cr.SetAnnotations(map[string]string{"meta.helm.sh/release-name": tf.Release, "meta.helm.sh/release-namespace": tf.Namespace})
			}
		}
	}
	var rels []tf.Rel
	if withRelease {
		rels = []tf.Rel{{Revision: 1}}
	}
	c := tf.NewClients(t, rels, objs...)
	grant(c, everything)
	return c
}

func TestResolveTarget(t *testing.T) {
	// Release and IOMeshCluster: the release, as before.
	out, _, err := runRoot(directCluster(t, true), "status")
	if err != nil || !strings.Contains(out, "Release:   iomesh, revision 1, deployed") {
		t.Fatalf("both: %v\n%s", err, out)
	}
	// IOMeshCluster only: managed directly, edition from the licence.
	out, _, err = runRoot(directCluster(t, false), "status")
	if err != nil || !strings.Contains(out, "Release:   none: IOMeshCluster iomesh is managed directly, no Helm release") ||
		!strings.Contains(out, "Edition:   Enterprise (from IOMeshCluster status.license.softwareEdition)") || !strings.Contains(out, "Chunk:     3/3 ready") {
		t.Fatalf("CR only: %v\n%s", err, out)
	}
	out, _, err = runRoot(directCluster(t, false), "preflight", "--chunk", "4")
	if err != nil || !strings.Contains(out, "no Helm release: the IOMeshCluster is managed directly") {
		t.Fatalf("CR only preflight: %v\n%s", err, out)
	}
	// Release only: status says the IOMeshCluster is missing.
	c := tf.NewClients(t, []tf.Rel{{Revision: 1}})
	if out, _, err := runRoot(c, "status"); exitcode.Of(err) != exitcode.OK || !strings.Contains(out, "not found") {
		t.Fatalf("release only: %v\n%s", err, out)
	}
	// Neither: a clear error naming both.
	_, _, err = runRoot(tf.NewClients(t, nil), "status")
	if exitcode.Of(err) != exitcode.Error || !strings.Contains(err.Error(), `Helm release "iomesh" not found`) || !strings.Contains(err.Error(), "no IOMeshCluster") {
		t.Fatalf("neither: %v", err)
	}
}

func TestDirectScalePatchesOnlyTheCounts(t *testing.T) {
	c := directCluster(t, false)
	var patches []string
	c.Dynamic.PrependReactor("patch", "iomeshclusters", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patches = append(patches, string(a.(k8stesting.PatchAction).GetPatch()))
		return false, nil, nil
	})
	out, errOut, err := runRoot(c, "scale", "--chunk", "4", "--yes", "--timeout", "0")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	if len(patches) != 1 || patches[0] != `{"metadata":{"resourceVersion":"41"},"spec":{"chunk":{"replicas":4}}}` {
		t.Fatalf("patches %q", patches)
	}
	if !strings.Contains(out, "Patch:     spec.chunk.replicas: 3 -> 4") || !strings.Contains(out, "only if the object is still at resourceVersion 41") {
		t.Fatalf("plan:\n%s", out)
	}
	secrets, _ := c.Kube.CoreV1().Secrets(tf.Namespace).List(context.Background(), metav1.ListOptions{})
	if len(secrets.Items) != 0 {
		t.Fatal("a direct scale wrote a Helm release")
	}
}

func TestDirectScaleConflictIsRefused(t *testing.T) {
	c := directCluster(t, false)
	c.Dynamic.PrependReactor("patch", "iomeshclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.NewConflict(schema.GroupResource{Group: "iomesh.com", Resource: "iomeshclusters"}, "iomesh", nil)
	})
	_, _, err := runRoot(c, "scale", "--chunk", "4", "--yes", "--timeout", "0")
	if exitcode.Of(err) != exitcode.Refused || !strings.Contains(err.Error(), "changed after it was read (resourceVersion 41): nothing was changed") {
		t.Fatalf("err = %v", err)
	}
	obj, _ := c.Dynamic.Resource(iomeshcluster.GVR).Namespace(tf.Namespace).Get(context.Background(), tf.Release, metav1.GetOptions{})
	if n, _, _ := unstructured.NestedInt64(obj.Object, "spec", "chunk", "replicas"); n != 3 {
		t.Fatalf("replicas %d", n)
	}
}

func TestStatusAllNamespaces(t *testing.T) {
	c := directCluster(t, true)
	out, _, err := runRoot(c, "status", "-A")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "status-all", out)
	out, _, err = runRoot(c, "status", "-A", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "status-all-yaml", out)
	if out, _, err := runRoot(tf.NewClients(t, nil), "status", "-A"); err != nil || out != "No IOMeshCluster found in any namespace.\n" {
		t.Fatalf("empty: %v %q", err, out)
	}
}
