package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
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

// With the operator down the live webhook's failurePolicy decides, read by name; with it up the
// webhook is not read at all.
func TestOperatorLiveWebhook(t *testing.T) {
	zero, ignore, fail := int32(0), admissionregistrationv1.Ignore, admissionregistrationv1.Fail
	down := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "operator", Namespace: "iomesh-system"}, Spec: appsv1.DeploymentSpec{Replicas: &zero}}
	live := func(policy *admissionregistrationv1.FailurePolicyType, resource string) *admissionregistrationv1.ValidatingWebhookConfiguration {
		return &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "iomesh-validating-webhook-configuration"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "iomeshcluster.iomesh.com", FailurePolicy: policy,
				Rules: []admissionregistrationv1.RuleWithOperations{{Rule: admissionregistrationv1.Rule{APIGroups: []string{"iomesh.com"}, Resources: []string{resource}}}}}},
		}
	}
	manifestIgnore := strings.Replace(operatorManifest, "- name: iomeshcluster.iomesh.com\n", "- name: iomeshcluster.iomesh.com\n  failurePolicy: Ignore\n", 1)
	for name, tc := range map[string]struct {
		objs                    []runtime.Object
		policy                  string
		liveRead, missing, fail bool
	}{
		"set back to Fail":  {[]runtime.Object{down, live(&fail, "iomeshclusters")}, "Fail", true, false, false},
		"still Ignore":      {[]runtime.Object{down, live(&ignore, "iomeshclusters")}, "Ignore", true, false, false},
		"gone":              {[]runtime.Object{down}, "", false, true, false},
		"no longer covers":  {[]runtime.Object{down, live(&fail, "pods")}, "", true, true, false},
		"unreadable":        {[]runtime.Object{down}, "", false, false, true},
		"operator up: kept": {[]runtime.Object{&appsv1.Deployment{ObjectMeta: down.ObjectMeta, Status: appsv1.DeploymentStatus{AvailableReplicas: 1}}, live(&fail, "iomeshclusters")}, "Ignore", false, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			kube := fake.NewClientset(tc.objs...)
			if tc.fail {
				kube.PrependReactor("get", "validatingwebhookconfigurations", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "validatingwebhookconfigurations"}, "x", errors.New("no"))
				})
			}
			st := Reader{Kube: kube, Namespace: "iomesh-system", Release: "iomesh"}.Operator(context.Background(), manifestIgnore)
			if st.FailurePolicy != tc.policy || st.ManifestFailurePolicy != "Ignore" || st.WebhookLive != tc.liveRead || st.WebhookMissing != tc.missing || (st.WebhookErr != nil) != tc.fail {
				t.Fatalf("%+v", st)
			}
			gets := 0
			for _, a := range kube.Actions() {
				if a.GetResource().Resource == "validatingwebhookconfigurations" {
					gets++
					if a.GetVerb() != "get" {
						t.Errorf("%s on the webhook: read by name only", a.GetVerb())
					}
				}
			}
			if want := map[bool]int{true: 0, false: 1}[name == "operator up: kept"]; gets != want {
				t.Errorf("%d webhook reads, want %d", gets, want)
			}
		})
	}
}
