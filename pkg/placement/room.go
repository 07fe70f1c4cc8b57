package placement

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// Usage is what the pods already on a node take: the scheduler's view (pods that finished,
// Succeeded or Failed, hold nothing).
type Usage struct {
	Pods     int
	Requests corev1.ResourceList
}

// UsageByNode sums, per node, the pods bound to it and their requests, with the scheduler's
// own arithmetic (init containers, sidecars and pod overhead included).
func UsageByNode(pods []corev1.Pod) map[string]Usage {
	out := map[string]Usage{}
	for i := range pods {
		p := &pods[i]
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		u := out[p.Spec.NodeName]
		u.Pods++
		if u.Requests == nil {
			u.Requests = corev1.ResourceList{}
		}
		for name, q := range resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}) {
			sum := u.Requests[name]
			sum.Add(q)
			u.Requests[name] = sum
		}
		out[p.Spec.NodeName] = u
	}
	return out
}

// PodRequestsOf is what one pod of a component asks for: the requests in the values when set,
// else those of the component's existing pods (the first that has any).
func PodRequestsOf(fromValues corev1.ResourceList, existing []corev1.Pod) corev1.ResourceList {
	if len(fromValues) > 0 {
		return fromValues
	}
	for i := range existing {
		if r := resourcehelper.PodRequests(&existing[i], resourcehelper.PodResourcesOptions{}); len(r) > 0 {
			return r
		}
	}
	return nil
}

// Room says why a node has no room for one more pod that requests want, or "" when it has.
// A node that states no allocatable for a resource is not judged on it.
func Room(n *corev1.Node, used Usage, want corev1.ResourceList) string {
	alloc := n.Status.Allocatable
	if limit, ok := alloc[corev1.ResourcePods]; ok && int64(used.Pods)+1 > limit.Value() {
		return fmt.Sprintf("at its pod limit (%d of %d pods)", used.Pods, limit.Value())
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, name := range names {
		rn := corev1.ResourceName(name)
		q := want[rn]
		a, ok := alloc[rn]
		if !ok || q.IsZero() {
			continue
		}
		left := a.DeepCopy()
		left.Sub(used.Requests[rn])
		if left.Cmp(q) < 0 {
			if left.Sign() < 0 {
				left = resource.Quantity{Format: left.Format}
			}
			return fmt.Sprintf("not enough %s: the pod requests %s, %s of %s is left", name, q.String(), left.String(), a.String())
		}
	}
	return ""
}

// RequestsFromValues reads <prefix><component>.resources.requests from the effective values.
func RequestsFromValues(effective values.Map, layout values.Layout, component string) (corev1.ResourceList, error) {
	path := layout.Prefix() + component + ".resources.requests"
	raw, ok := values.Lookup(effective, path)
	m, isMap := raw.(map[string]interface{})
	if !ok || !isMap || len(m) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for k, v := range m {
		q, err := resource.ParseQuantity(fmt.Sprint(v))
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", path, k, err)
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

// Requests reports a pod that requests some resource: only then do the other pods' requests
// decide whether it fits a node.
func Requests(want corev1.ResourceList) bool {
	for _, q := range want {
		if !q.IsZero() {
			return true
		}
	}
	return false
}

// UsageFromCounts is the usage of nodes known only by how many pods each runs (enough for a pod
// that requests nothing).
func UsageFromCounts(pods map[string]int) map[string]Usage {
	out := make(map[string]Usage, len(pods))
	for node, n := range pods {
		out[node] = Usage{Pods: n}
	}
	return out
}
