// Package testfixture builds IOMesh clusters out of plain objects for unit tests: releases stored
// through Helm's Secrets driver over a fake clientset (so values decode as on a real cluster),
// StatefulSets, pods in any state, nodes and the IOMeshCluster resource. Only tests import it
// (depguard).
package testfixture

import (
	"fmt"
	"log/slog"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// Now is the fixed clock of every fixture.
var Now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const (
	Namespace = "iomesh-system"
	Release   = "iomesh"
)

// ChartDefaults are the stand-in chart defaults (the real chart's shape, trimmed).
func ChartDefaults() values.Map {
	return values.Map{
		"iomesh": values.Map{
			"create":  true,
			"edition": "",
			"chunk":   values.Map{"replicaCount": 3, "dataCIDR": ""},
			"meta":    values.Map{"replicaCount": 3},
		},
	}
}

// Chart is a chart record as Helm stores it in a release (no subchart bodies).
func Chart(version string, defaults values.Map) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{Name: "iomesh", Version: version, AppVersion: "v5.3.0-rc13", APIVersion: "v2"},
		Values:   defaults,
	}
}

// Rel describes a release revision to store.
type Rel struct {
	Revision int
	Status   rcommon.Status
	Chart    *chart.Chart
	Values   values.Map
	Manifest string
}

// Clients bundles the fakes.
type Clients struct {
	Kube    *fake.Clientset
	Dynamic *dynamicfake.FakeDynamicClient
	Helm    *action.Configuration
}

// T is the part of testing.TB the fixtures use; taking it keeps package testing out of this
// package.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// NewClients makes fake clients holding objs (typed objects and unstructured IOMeshClusters)
// and stores the release revisions through the Secrets driver.
func NewClients(t T, rels []Rel, objs ...runtime.Object) Clients {
	t.Helper()
	var typed []runtime.Object
	var dyn []runtime.Object
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			dyn = append(dyn, u)
			continue
		}
		typed = append(typed, o)
	}
	kube := fake.NewSimpleClientset(typed...)
	// The API server answers access reviews without keeping them: this one allows nothing.
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authv1.SelfSubjectAccessReview{}, nil
	})
	scheme := runtime.NewScheme()
	gvr := iomeshcluster.GVR
	hr := schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
	bd := schema.GroupVersionResource{Group: "openebs.io", Version: "v1alpha1", Resource: "blockdevices"}
	d := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{gvr: "IOMeshClusterList", bd: "BlockDeviceList", hr: "HelmReleaseList"}, dyn...)
	// As an API server does, a dry-run patch stores nothing: it answers with the object as it is.
	d.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p, ok := a.(k8stesting.PatchActionImpl)
		if !ok || len(p.PatchOptions.DryRun) == 0 {
			return false, nil, nil
		}
		obj, err := d.Tracker().Get(p.GetResource(), p.GetNamespace(), p.Name)
		return true, obj, err
	})
	h := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	h.Releases = storage.Init(driver.NewSecrets(kube.CoreV1().Secrets(Namespace)))
	for _, r := range rels {
		if r.Chart == nil {
			r.Chart = Chart("v1.0.1", ChartDefaults())
		}
		if r.Status == "" {
			r.Status = rcommon.StatusDeployed
		}
		rel := &release.Release{
			Name: Release, Namespace: Namespace, Version: r.Revision,
			Info: &release.Info{
				Status: r.Status, Description: "Upgrade complete",
				FirstDeployed: Now.Add(-48 * time.Hour),
				LastDeployed:  Now.Add(-time.Duration(10-r.Revision) * time.Hour),
			},
			Chart: r.Chart, Config: r.Values, Manifest: r.Manifest,
		}
		if err := h.Releases.Create(rel); err != nil {
			t.Fatalf("storing release: %v", err)
		}
	}
	return Clients{Kube: kube, Dynamic: d, Helm: h}
}

// StatefulSet is the operator's StatefulSet for a component, selecting app=iomesh-<component>.
func StatefulSet(component string, replicas int32, containers int, image string) *appsv1.StatefulSet {
	name := Release + "-" + component
	cs := make([]corev1.Container, containers)
	for i := range cs {
		cs[i] = corev1.Container{Name: fmt.Sprintf("c%d", i), Image: image}
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: cs},
			},
		},
	}
}

// PodState is how a fixture pod looks.
type PodState int

const (
	Running PodState = iota
	Pending
	ContainerCreating
	CrashLoop
	Terminating
)

// Pod builds pod <release>-<component>-<ordinal> with containers containers in state.
func Pod(component string, ordinal, containers int, node string, age time.Duration, state PodState) *corev1.Pod {
	name := fmt.Sprintf("%s-%s-%d", Release, component, ordinal)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: Namespace,
			Labels:            map[string]string{"app": Release + "-" + component, "statefulset.kubernetes.io/pod-name": name},
			CreationTimestamp: metav1.NewTime(Now.Add(-age)),
		},
		Spec: corev1.PodSpec{NodeName: node},
	}
	for i := 0; i < containers; i++ {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: "iomesh/zbs:v5.3.0-rc13"})
	}
	ip := fmt.Sprintf("10.0.0.%d", 10+ordinal)
	switch state {
	case Running, Terminating, CrashLoop:
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = ip
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			})
		}
		if state == CrashLoop {
			p.Status.Conditions[0].Status = corev1.ConditionFalse
			cs := &p.Status.ContainerStatuses[0]
			cs.Ready = false
			cs.RestartCount = 4
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
			cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(Now.Add(-76 * time.Minute)),
			}}
		}
		if state == Terminating {
			ts := metav1.NewTime(Now.Add(-10 * time.Second))
			p.DeletionTimestamp = &ts
		}
	case Pending:
		p.Spec.NodeName = ""
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
	case ContainerCreating:
		p.Status.Phase = corev1.PodPending
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
			})
		}
	}
	return p
}

// IOMeshCluster is the CR named after the release; license may be nil (none published).
// Typed decodes an IOMeshCluster made here into the tool's model.
func Typed(t T, u *unstructured.Unstructured) *iomeshcluster.IOMeshCluster {
	t.Helper()
	c, err := iomeshcluster.FromUnstructured(u)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return c
}

func IOMeshCluster(specEdition string, license map[string]interface{}) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "iomesh.com/v1alpha1",
		"kind":       "IOMeshCluster",
		"metadata":   map[string]interface{}{"name": Release, "namespace": Namespace},
		"spec":       map[string]interface{}{},
	}}
	if specEdition != "" {
		_ = unstructured.SetNestedField(u.Object, specEdition, "spec", "edition")
	}
	if license != nil {
		_ = unstructured.SetNestedField(u.Object, license, "status", "license")
	}
	return u
}

// Node is a Ready worker.
func Node(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

// BlockDevice is an NDM BlockDevice on node: an unformatted disk of size bytes whose
// iomesh.com/bd-deviceType label is deviceType (SSD or HDD).
func BlockDevice(name, node string, bytes int64, deviceType, claimState string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "openebs.io/v1alpha1",
		"kind":       "BlockDevice",
		"metadata": map[string]interface{}{"name": name, "namespace": Namespace, "labels": map[string]interface{}{
			"kubernetes.io/hostname": node, "iomesh.com/bd-deviceType": "disk", "iomesh.com/bd-driverType": deviceType,
		}},
		"spec": map[string]interface{}{
			"nodeAttributes": map[string]interface{}{"nodeName": node},
			"path":           "/dev/" + name,
			"capacity":       map[string]interface{}{"storage": bytes},
			"filesystem":     map[string]interface{}{},
		},
		"status": map[string]interface{}{"claimState": claimState, "state": "Active"},
	}}
}

// HybridDeviceMap sets the docs' hybrid deviceMap on an IOMeshCluster: SSDs cache, HDDs store.
func HybridDeviceMap(cr *unstructured.Unstructured) *unstructured.Unstructured {
	_ = unstructured.SetNestedField(cr.Object, "hybridFlash", "spec", "diskDeploymentMode")
	_ = unstructured.SetNestedField(cr.Object, map[string]interface{}{
		"cacheWithJournal": map[string]interface{}{"selector": map[string]interface{}{"matchLabels": map[string]interface{}{"iomesh.com/bd-driverType": "SSD"}}},
		"dataStore":        map[string]interface{}{"selector": map[string]interface{}{"matchLabels": map[string]interface{}{"iomesh.com/bd-driverType": "HDD"}}},
	}, "spec", "chunk", "deviceMap")
	return cr
}

// Operator is the stand-in chart's operator Deployment with available replicas.
func Operator(available int32) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "operator", Namespace: Namespace},
		Spec:       appsv1.DeploymentSpec{Replicas: &one},
		Status:     appsv1.DeploymentStatus{AvailableReplicas: available},
	}
}
