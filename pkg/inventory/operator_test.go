package inventory

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

const operatorManifest = `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: iomesh-zookeeper-operator, namespace: iomesh-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator, namespace: iomesh-system}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: other}
webhooks:
- name: pods.example.com
  failurePolicy: Ignore
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: iomesh-validating-webhook-configuration}
webhooks:
- name: iomeshcluster.iomesh.com
  rules: [{apiGroups: [iomesh.com], apiVersions: [v1alpha1], operations: [CREATE, UPDATE], resources: [iomeshclusters]}]
`

func TestOperator(t *testing.T) {
	two := int32(2)
	kube := fake.NewClientset(&appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "operator", Namespace: "iomesh-system"},
		Spec:       appsv1.DeploymentSpec{Replicas: &two},
		Status:     appsv1.DeploymentStatus{AvailableReplicas: 1},
	})
	r := Reader{Kube: kube, Namespace: "iomesh-system", Release: "iomesh"}
	st := r.Operator(context.Background(), operatorManifest)
	// ZooKeeper's operator is not IOMesh's; the webhook without a policy is Fail, as the API defaults it.
	if st.Deployment != "operator" || st.Desired != 2 || st.Available != 1 || st.Missing || st.Err != nil {
		t.Fatalf("deployment: %+v", st)
	}
	if st.Webhook != "iomesh-validating-webhook-configuration" || st.FailurePolicy != "Fail" {
		t.Fatalf("webhook: %+v", st)
	}
	r.Kube = fake.NewClientset()
	if st := r.Operator(context.Background(), operatorManifest); !st.Missing {
		t.Fatalf("a Deployment not in the cluster: %+v", st)
	}
	if st := r.Operator(context.Background(), "apiVersion: v1\nkind: ConfigMap\n"); st.Deployment != "" || st.Webhook != "" {
		t.Fatalf("no operator in the manifest: %+v", st)
	}
}
