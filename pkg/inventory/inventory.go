// Package inventory reads what an IOMesh cluster consists of from the API server: the
// IOMeshCluster resource, the chunk and meta StatefulSets and their pods, and the nodes. It asks
// for exactly what it needs (no discovery, selectors instead of namespace-wide lists), and it
// never writes: its exec runs only reads (`iomeshctl summary cluster`, the pods' addresses);
// every change is the engine's (pkg/scale) or Helm's (pkg/helmops). It may not import the
// checks, the snapshot, the engine, the views or the commands (depguard).
package inventory

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/render"
)

// Component is a kind of IOMesh pod managed by a StatefulSet.
type Component string

const (
	Chunk Component = "chunk"
	Meta  Component = "meta"
)

// Reader reads one IOMesh cluster.
type Reader struct {
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
	Namespace string
	Release   string
	// Exec runs commands in the IOMesh pods (nil: not available, as in the unit tests).
	Exec Executor
}

// ClusterState is the IOMeshCluster as found, or why it was not.
type ClusterState struct {
	Object *iomeshcluster.IOMeshCluster
	// Absent says the resource is not there (the CRD or the object); nil when it is.
	Absent *Unavailable
	// Err is any other failure reading it.
	Err error
}

// IOMeshCluster reads the resource named after the release. A missing CRD or object is reported
// in Absent, not as an error.
func (r Reader) IOMeshCluster(ctx context.Context) ClusterState {
	obj, err := r.Dynamic.Resource(iomeshcluster.GVR).Namespace(r.Namespace).Get(ctx, r.Release, metav1.GetOptions{})
	if err == nil {
		c, err := iomeshcluster.FromUnstructured(obj)
		if err != nil {
			return ClusterState{Err: err}
		}
		return ClusterState{Object: c}
	}
	if apierrors.IsNotFound(err) {
		if st, ok := err.(apierrors.APIStatus); ok && st.Status().Details != nil && st.Status().Details.Name != "" {
			return ClusterState{Absent: &Unavailable{Reason: NotFound, Text: fmt.Sprintf("IOMeshCluster %q not found in namespace %q: the IOMesh operator has not created it, or the release uses iomesh.create=false", r.Release, r.Namespace)}}
		}
		return ClusterState{Absent: &Unavailable{Reason: NotInstalled, Text: "the IOMeshCluster CRD (iomeshclusters.iomesh.com) is not installed: IOMesh is not installed in this cluster, or its CRDs were removed"}}
	}
	return ClusterState{Err: Explain(err, "get", fmt.Sprintf("iomeshclusters.iomesh.com %q in namespace %q", r.Release, r.Namespace))}
}

// Set is one component's StatefulSet and pods.
type Set struct {
	Component   Component           `json:"component"`
	StatefulSet *appsv1.StatefulSet `json:"-"`
	Pods        []corev1.Pod        `json:"-"`
	// FoundBy says how pods were matched: "selector" or "name".
	FoundBy string `json:"foundBy"`
}

// Name is the StatefulSet name of a component for this release.
func (r Reader) Name(c Component) string { return r.Release + "-" + string(c) }

// StatefulSetPodLabel is put by the StatefulSet controller on every pod it creates. Listing pods by
// it can start before the StatefulSets (and so their selectors) are known, and still leaves out
// the namespace's other pods.
const StatefulSetPodLabel = "statefulset.kubernetes.io/pod-name"

// Components reads the chunk and meta StatefulSets and their pods with one StatefulSet list and,
// at the same time, one list of the namespace's StatefulSet pods, in protobuf (several times
// cheaper to serve and decode than the server's Table of them). When a StatefulSet is missing,
// its pods may lack the label (left behind, or made by hand): every pod of the namespace is then
// read, by name.
func (r Reader) Components(ctx context.Context) (chunk, meta Set, err error) {
	chunk, meta = Set{Component: Chunk}, Set{Component: Meta}
	var pods []corev1.Pod
	var podErr error
	listed := make(chan struct{})
	go func() { defer close(listed); pods, podErr = r.pods(ctx, StatefulSetPodLabel) }()
	stsList, err := r.Kube.AppsV1().StatefulSets(r.Namespace).List(ctx, metav1.ListOptions{})
	<-listed
	if err != nil {
		return chunk, meta, Explain(err, "list", "statefulsets in namespace "+r.Namespace)
	}
	if podErr != nil {
		return chunk, meta, podErr
	}
	for i := range stsList.Items {
		s := &stsList.Items[i]
		switch s.Name {
		case r.Name(Chunk):
			chunk.StatefulSet = s
		case r.Name(Meta):
			meta.StatefulSet = s
		}
	}
	if chunk.StatefulSet == nil || meta.StatefulSet == nil {
		if pods, err = r.pods(ctx, ""); err != nil {
			return chunk, meta, err
		}
	}
	chunkSel, chunkOK := selectorOf(chunk.StatefulSet)
	metaSel, metaOK := selectorOf(meta.StatefulSet)
	chunk.Pods, chunk.FoundBy = r.match(pods, Chunk, chunkSel, chunkOK)
	meta.Pods, meta.FoundBy = r.match(pods, Meta, metaSel, metaOK)
	return chunk, meta, nil
}

// pods lists the namespace's pods that match selector ("" for all).
func (r Reader) pods(ctx context.Context, selector string) ([]corev1.Pod, error) {
	list, err := r.Kube.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, Explain(err, "list", "pods in namespace "+r.Namespace)
	}
	return list.Items, nil
}

func selectorOf(s *appsv1.StatefulSet) (labels.Selector, bool) {
	if s == nil || s.Spec.Selector == nil {
		return nil, false
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil, false
	}
	return sel, true
}

// match keeps the pods of one component: by the StatefulSet's selector and ordinal name when it
// exists, else by the name <release>-<component>-N alone.
func (r Reader) match(pods []corev1.Pod, c Component, sel labels.Selector, useSel bool) ([]corev1.Pod, string) {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(r.Name(c)) + `-([0-9]+)$`)
	var out []corev1.Pod
	for _, p := range pods {
		if !re.MatchString(p.Name) {
			continue
		}
		if useSel && !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		out = append(out, p)
	}
	SortByOrdinal(out)
	if useSel {
		return out, "selector"
	}
	return out, "name"
}

// Ordinal is the StatefulSet ordinal at the end of a pod name, or -1.
func Ordinal(name string) int {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return -1
	}
	return n
}

// SortByOrdinal sorts pods as a StatefulSet numbers them (chunk-2 before chunk-10).
func SortByOrdinal(pods []corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		oi, oj := Ordinal(pods[i].Name), Ordinal(pods[j].Name)
		if oi != oj {
			return oi < oj
		}
		return pods[i].Name < pods[j].Name
	})
}

// Combine merges two matchLabels selectors that share their keys into one set-based selector
// (app in (iomesh-chunk,iomesh-meta)), so one list call returns both components' pods and little
// else. ok is false when they cannot be combined that way.
func Combine(a, b *metav1.LabelSelector) (string, bool) {
	if a == nil || b == nil || len(a.MatchExpressions) > 0 || len(b.MatchExpressions) > 0 ||
		len(a.MatchLabels) == 0 || len(a.MatchLabels) != len(b.MatchLabels) {
		return "", false
	}
	keys := make([]string, 0, len(a.MatchLabels))
	for k := range a.MatchLabels {
		if _, ok := b.MatchLabels[k]; !ok {
			return "", false
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		va, vb := a.MatchLabels[k], b.MatchLabels[k]
		if va == vb {
			parts = append(parts, k+"="+va)
		} else {
			vs := []string{va, vb}
			sort.Strings(vs)
			parts = append(parts, fmt.Sprintf("%s in (%s,%s)", k, vs[0], vs[1]))
		}
	}
	sel := strings.Join(parts, ",")
	if _, err := labels.Parse(sel); err != nil {
		return "", false
	}
	return sel, true
}

// PodSelector is the label selector that finds both components' pods in one list or watch, or ""
// when the StatefulSets are missing or their selectors cannot be combined.
func PodSelector(chunk, meta Set) string {
	if chunk.StatefulSet == nil || meta.StatefulSet == nil {
		return ""
	}
	sel, _ := Combine(chunk.StatefulSet.Spec.Selector, meta.StatefulSet.Spec.Selector)
	return sel
}

// AllIOMeshClusters lists the IOMeshClusters of every namespace. absent says the API is not
// installed.
func (r Reader) AllIOMeshClusters(ctx context.Context) ([]*iomeshcluster.IOMeshCluster, *Unavailable, error) {
	list, err := r.Dynamic.Resource(iomeshcluster.GVR).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Unavailable{Reason: NotInstalled, Text: "the IOMeshCluster CRD (iomeshclusters.iomesh.com) is not installed: no IOMesh in this Kubernetes cluster"}, nil
		}
		return nil, nil, Explain(err, "list", "iomeshclusters.iomesh.com in all namespaces")
	}
	out := make([]*iomeshcluster.IOMeshCluster, 0, len(list.Items))
	for i := range list.Items {
		c, err := iomeshcluster.FromUnstructured(&list.Items[i])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out, nil, nil
}

// PodsIn lists the pods of a namespace.
func (r Reader) PodsIn(ctx context.Context, namespace string) ([]corev1.Pod, error) {
	list, err := r.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, Explain(err, "list", "pods in namespace "+namespace)
	}
	return list.Items, nil
}

// ByName keeps the pods named <release>-<component>-N, in ordinal order.
func (r Reader) ByName(pods []corev1.Pod, c Component) []corev1.Pod {
	out, _ := r.match(pods, c, nil, false)
	return out
}

// holdingPlace selects the pods that hold a place on their node: not Succeeded or Failed, as the
// scheduler counts them.
const holdingPlace = "status.phase!=Succeeded,status.phase!=Failed"

// RunningPods lists every pod in the cluster that holds resources on its node (not Succeeded or
// Failed), in one request served from the API server's watch cache, in protobuf, decoded as it
// streams in and keeping only what the room rules read of each (see protostream.go).
func (r Reader) RunningPods(ctx context.Context) ([]corev1.Pod, error) {
	const what = "pods in all namespaces (to see each node's room)"
	if rc := r.restClient(); rc != nil {
		var out []corev1.Pod
		err := streamPods(ctx, rc, "/api/v1/pods", map[string]string{"fieldSelector": holdingPlace}, func(p corev1.Pod) { out = append(out, p) })
		if err != nil {
			return nil, Explain(err, "list", what)
		}
		return out, nil
	}
	list, err := r.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: holdingPlace, ResourceVersion: "0"})
	if err != nil {
		return nil, Explain(err, "list", what)
	}
	out := make([]corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, slimmed(&list.Items[i]))
	}
	return out, nil
}

// RunningPodsPerNode counts, per node, the pods that hold a place on it (not Succeeded or
// Failed), in one request: the API server's Table of every pod without the objects, from its
// watch cache. It is what the room rules need for a new pod that requests nothing, at a fraction
// of the cost of the pods themselves.
func (r Reader) RunningPodsPerNode(ctx context.Context) (map[string]int, error) {
	const what = "pods in all namespaces (to count the pods on each node)"
	if rc := r.restClient(); rc != nil {
		body, err := rc.Get().AbsPath("/api/v1/pods").SetHeader("Accept", output.TableAccept).
			Param("includeObject", "None").Param("fieldSelector", holdingPlace).Param("resourceVersion", "0").DoRaw(ctx)
		if err != nil {
			return nil, Explain(err, "list", what)
		}
		return output.NodeCounts(body)
	}
	list, err := r.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: holdingPlace, ResourceVersion: "0"})
	if err != nil {
		return nil, Explain(err, "list", what)
	}
	out := map[string]int{}
	for _, p := range list.Items {
		// The fake clientset ignores field selectors: the phases are filtered here.
		if p.Spec.NodeName != "" && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out[p.Spec.NodeName]++
		}
	}
	return out, nil
}

// slimmed keeps what the room rules read of a pod: its node, phase and the requests of its
// containers, init containers and overhead.
func slimmed(p *corev1.Pod) corev1.Pod {
	out := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
	out.Spec.NodeName, out.Spec.Overhead, out.Spec.Resources = p.Spec.NodeName, p.Spec.Overhead, p.Spec.Resources
	for _, c := range p.Spec.Containers {
		out.Spec.Containers = append(out.Spec.Containers, corev1.Container{Name: c.Name, Resources: c.Resources})
	}
	for _, c := range p.Spec.InitContainers {
		out.Spec.InitContainers = append(out.Spec.InitContainers, corev1.Container{Name: c.Name, Resources: c.Resources, RestartPolicy: c.RestartPolicy})
	}
	out.Status.Phase = p.Status.Phase
	return out
}

// BlockDevices lists the BlockDevices in namespace. absent says the BlockDevice API is not
// installed (no NDM) or may not be read, which is not an error.
func (r Reader) BlockDevices(ctx context.Context, namespace string) (items []unstructured.Unstructured, absent *Unavailable, err error) {
	if rc := r.restClient(); rc != nil {
		path := fmt.Sprintf("/apis/%s/%s/namespaces/%s/%s", placement.BlockDeviceGVR.Group, placement.BlockDeviceGVR.Version, namespace, placement.BlockDeviceGVR.Resource)
		err = readList(ctx, rc, path, nil, func(b slimBlockDevice) { items = append(items, b.object()) })
	} else {
		var list *unstructured.UnstructuredList
		if list, err = r.Dynamic.Resource(placement.BlockDeviceGVR).Namespace(namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"}); err == nil {
			items = list.Items
		}
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, &Unavailable{Reason: NotInstalled, Text: "the BlockDevice API (blockdevices.openebs.io) is not installed"}, nil
	case apierrors.IsForbidden(err):
		return nil, &Unavailable{Reason: NotPermitted, Text: fmt.Sprintf("you may not list blockdevices.openebs.io in namespace %s (`kubectl iomesh rbac readonly` grants it)", namespace)}, nil
	case err != nil:
		return nil, nil, Explain(err, "list", "blockdevices.openebs.io in namespace "+namespace)
	}
	return items, nil, nil
}

// Nodes lists every node.
func (r Reader) Nodes(ctx context.Context) ([]corev1.Node, error) {
	list, err := r.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, Explain(err, "list", "nodes")
	}
	return list.Items, nil
}

// Images lists the container images of a component's StatefulSet template and pods, for
// reading the edition from image tags.
func (s Set) Images() []string {
	var out []string
	if s.StatefulSet != nil {
		for _, c := range s.StatefulSet.Spec.Template.Spec.Containers {
			out = append(out, c.Image)
		}
	}
	for _, p := range s.Pods {
		for _, c := range p.Spec.Containers {
			out = append(out, c.Image)
		}
	}
	return out
}

// EditionInputs collects every place the edition may be written: the values, the
// IOMeshCluster spec and licence, and the chunk/meta images.
func EditionInputs(valuesEdition string, cluster ClusterState, chunk, meta Set) edition.Inputs {
	in := edition.Inputs{Values: valuesEdition, Images: append(chunk.Images(), meta.Images()...)}
	if c := cluster.Object; c != nil {
		in.Spec = c.Spec.Edition
		if l := c.License(); l != nil {
			in.License = l.SoftwareEdition.String()
		}
	}
	return in
}

// The GitOps controllers' own resources.
var (
	helmReleaseGVR   = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
	kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	applicationGVR   = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
)

// argoNamespace is where Argo CD keeps its Applications unless a mark names another.
const argoNamespace = "argocd"

// ReadOwner reads the controller's own object, where its CRD is installed and readable, to see
// whether it is suspended (Flux) or heals itself (Argo CD). Without it the marks decide alone.
func (r Reader) ReadOwner(ctx context.Context, o *gitops.Owner) {
	gvr, ns := helmReleaseGVR, o.Namespace
	switch o.Kind {
	case gitops.FluxKustomization:
		gvr = kustomizationGVR
	case gitops.ArgoApplication:
		gvr = applicationGVR
		if ns == "" {
			ns = argoNamespace
		}
	}
	if ns == "" {
		return
	}
	obj, err := r.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return
	}
	o.Read, o.Namespace = true, ns
	if o.Kind == gitops.ArgoApplication {
		o.SelfHeal, _, _ = unstructured.NestedBool(obj.Object, "spec", "syncPolicy", "automated", "selfHeal")
		if enabled, found, _ := unstructured.NestedBool(obj.Object, "spec", "syncPolicy", "automated", "enabled"); found && !enabled {
			o.SelfHeal = false
		}
		return
	}
	o.Suspended, _, _ = unstructured.NestedBool(obj.Object, "spec", "suspend")
}

// OperatorState is the IOMesh operator as the release deploys it and the cluster runs it: its
// Deployment's available replicas, and the webhook that validates IOMeshCluster writes.
type OperatorState struct {
	// Deployment is the operator Deployment of the release ("" when the manifest has none).
	Deployment string `json:"deployment,omitempty"`
	Desired    int32  `json:"desired"`
	Available  int32  `json:"available"`
	// Missing says the Deployment is not in the cluster; Err that it could not be read.
	Missing bool  `json:"missing,omitempty"`
	Err     error `json:"-"`
	// Webhook is the ValidatingWebhookConfiguration that covers IOMeshClusters ("" for none),
	// with its failurePolicy (Fail when the manifest says none, as the API defaults it).
	Webhook       string `json:"webhook,omitempty"`
	FailurePolicy string `json:"failurePolicy,omitempty"`
	// ManifestFailurePolicy is what the release manifest says; FailurePolicy is the live
	// object's when WebhookLive (read only while the operator is down).
	ManifestFailurePolicy string `json:"manifestFailurePolicy,omitempty"`
	WebhookLive           bool   `json:"webhookLive,omitempty"`
	// WebhookMissing says the live configuration is gone (or no longer covers IOMeshClusters);
	// WebhookErr that it could not be read, so its policy is unknown.
	WebhookMissing bool  `json:"webhookMissing,omitempty"`
	WebhookErr     error `json:"-"`
}

// ReleaseOperator finds the operator Deployment and the IOMeshCluster webhook configuration in
// a release manifest, with the failurePolicy the manifest gives it (Fail when it gives none, as
// the API defaults it). Empty names: the manifest has none.
func ReleaseOperator(manifest, release string) (deployment, webhook, failurePolicy string) {
	// The operator is "operator" or "<release>-operator"; a subchart's operator (ZooKeeper's) is
	// not IOMesh's.
	isOperator := func(name string) bool {
		return name == "operator" || name == release+"-operator"
	}
	for _, doc := range render.SplitDocs(manifest) {
		switch {
		case strings.Contains(doc, "kind: Deployment") && deployment == "":
			var d struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if yaml.Unmarshal([]byte(doc), &d) == nil && d.Kind == "Deployment" && isOperator(d.Metadata.Name) {
				deployment = d.Metadata.Name
			}
		case strings.Contains(doc, "kind: ValidatingWebhookConfiguration") && webhook == "":
			var w admissionregistrationv1.ValidatingWebhookConfiguration
			if yaml.Unmarshal([]byte(doc), &w) != nil {
				continue
			}
			if policy, ok := iomeshClusterPolicy(w); ok {
				webhook, failurePolicy = w.Name, policy
			}
		}
	}
	return deployment, webhook, failurePolicy
}

// iomeshClusterPolicy is the failurePolicy of w's webhook that covers IOMeshClusters.
func iomeshClusterPolicy(w admissionregistrationv1.ValidatingWebhookConfiguration) (string, bool) {
	for _, h := range w.Webhooks {
		if coversIOMeshClusters(h.Rules) {
			if h.FailurePolicy != nil {
				return string(*h.FailurePolicy), true
			}
			return string(admissionregistrationv1.Fail), true
		}
	}
	return "", false
}

// Operator finds the operator Deployment and the IOMeshCluster webhook in the release manifest
// and reads the Deployment's status (one request). When the operator is down, the webhook's
// failurePolicy decides what a write does, so it is read from the live object (a second request,
// by name): someone may have changed it since the install.
func (r Reader) Operator(ctx context.Context, manifest string) OperatorState {
	var st OperatorState
	st.Deployment, st.Webhook, st.FailurePolicy = ReleaseOperator(manifest, r.Release)
	st.ManifestFailurePolicy = st.FailurePolicy
	if st.Deployment == "" {
		return st
	}
	d, err := r.Kube.AppsV1().Deployments(r.Namespace).Get(ctx, st.Deployment, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		st.Missing = true
	case err != nil:
		st.Err = Explain(err, "get", fmt.Sprintf("deployment %s in namespace %s", st.Deployment, r.Namespace))
	default:
		st.Available = d.Status.AvailableReplicas
		st.Desired = 1
		if d.Spec.Replicas != nil {
			st.Desired = *d.Spec.Replicas
		}
	}
	if st.Err == nil && (st.Missing || st.Available == 0) && st.Webhook != "" {
		r.liveWebhook(ctx, &st)
	}
	return st
}

// liveWebhook reads the webhook configuration the manifest names and takes its failurePolicy.
func (r Reader) liveWebhook(ctx context.Context, st *OperatorState) {
	w, err := r.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, st.Webhook, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		st.WebhookMissing, st.FailurePolicy = true, ""
		return
	case err != nil:
		st.WebhookErr = Explain(err, "get", "validatingwebhookconfiguration "+st.Webhook)
		st.FailurePolicy = ""
		return
	}
	st.WebhookLive = true
	policy, ok := iomeshClusterPolicy(*w)
	if !ok {
		st.WebhookMissing, st.FailurePolicy = true, ""
		return
	}
	st.FailurePolicy = policy
}

func coversIOMeshClusters(rules []admissionregistrationv1.RuleWithOperations) bool {
	for _, rule := range rules {
		for _, g := range rule.APIGroups {
			if g != iomeshcluster.GVR.Group && g != "*" {
				continue
			}
			for _, res := range rule.Resources {
				if res == iomeshcluster.GVR.Resource || res == "*" {
					return true
				}
			}
		}
	}
	return false
}
