// Package placement decides which nodes can take a new chunk or meta pod: IOMesh places at
// most one pod of each kind per node, and a pod lands only where the scheduler would put it. It
// may import only the leaf packages and the Kubernetes libraries (depguard).
package placement

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	schedcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// Policy is a component's podPolicy from the chart values.
type Policy struct {
	NodeSelector map[string]string   `json:"nodeSelector,omitempty"`
	Affinity     *corev1.Affinity    `json:"affinity,omitempty"`
	Tolerations  []corev1.Toleration `json:"tolerations,omitempty"`
}

// PolicyFromValues reads <prefix><component>.podPolicy from the effective values.
func PolicyFromValues(effective values.Map, layout values.Layout, component string) (Policy, error) {
	path := layout.Prefix() + component + ".podPolicy"
	raw, ok := values.Lookup(effective, path)
	if !ok || raw == nil {
		return Policy{}, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return Policy{}, fmt.Errorf("reading %s: %w", path, err)
	}
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return Policy{}, fmt.Errorf("%s is not a valid podPolicy (nodeSelector, affinity, tolerations): %w", path, err)
	}
	return p, nil
}

// pod is the pod the scheduler would see, for the affinity helpers.
func (p Policy) pod() *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: p.NodeSelector, Affinity: p.Affinity, Tolerations: p.Tolerations}}
}

// Node is one node's verdict for one component.
type Node struct {
	Name string `json:"name"`
	// Hosts is the pod of this component already on the node, if any.
	Hosts string `json:"hosts,omitempty"`
	// Eligible reports a node that can take a new pod of this component.
	Eligible bool `json:"eligible"`
	// Reasons say why not (empty when eligible).
	Reasons []string `json:"reasons,omitempty"`
}

// Summary is the verdicts for one component.
type Summary struct {
	Component string `json:"component"`
	Nodes     []Node `json:"nodes"`
	// Hosting counts nodes that already run a pod of this component.
	Hosting int `json:"hosting"`
	// Free counts eligible nodes without one.
	Free int `json:"free"`
}

// Capacity is how many pods of this component the cluster can hold: the nodes that run one and
// the eligible nodes that could.
func (s Summary) Capacity() int { return s.Hosting + s.Free }

// RoomCheck is what the room rules need: every node's usage and what the new pod requests. The
// zero value checks no room (the pods on the nodes were not read).
type RoomCheck struct {
	Usage map[string]Usage
	Want  corev1.ResourceList
}

// Evaluate checks every node for a new pod of a component whose current pods are pods.
func Evaluate(component string, nodes []corev1.Node, pods []corev1.Pod, policy Policy, room RoomCheck) Summary {
	hosts := map[string]string{}
	for _, p := range pods {
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
			hosts[p.Spec.NodeName] = p.Name
		}
	}
	pod := policy.pod()
	affinity := nodeaffinity.GetRequiredNodeAffinity(pod)
	logger := klog.Background()
	s := Summary{Component: component}
	for i := range nodes {
		n := &nodes[i]
		v := Node{Name: n.Name, Hosts: hosts[n.Name]}
		if v.Hosts != "" {
			s.Hosting++
			v.Reasons = append(v.Reasons, "already runs "+v.Hosts)
		}
		if !ready(n) {
			v.Reasons = append(v.Reasons, "not Ready")
		}
		if n.Spec.Unschedulable {
			v.Reasons = append(v.Reasons, "cordoned (unschedulable)")
		}
		if taint, bad := schedcorev1.FindMatchingUntoleratedTaint(logger, n.Spec.Taints, policy.Tolerations, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}, false); bad {
			v.Reasons = append(v.Reasons, fmt.Sprintf("taint %s not tolerated", taintString(taint)))
		}
		if ok, err := affinity.Match(n); err != nil {
			v.Reasons = append(v.Reasons, fmt.Sprintf("podPolicy affinity is invalid: %v", err))
		} else if !ok {
			v.Reasons = append(v.Reasons, "does not match podPolicy nodeSelector/affinity")
		}
		if room.Usage != nil && v.Hosts == "" {
			if why := Room(n, room.Usage[n.Name], room.Want); why != "" {
				v.Reasons = append(v.Reasons, why)
			}
		}
		v.Eligible = len(v.Reasons) == 0
		if v.Eligible {
			s.Free++
		}
		s.Nodes = append(s.Nodes, v)
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Name < s.Nodes[j].Name })
	return s
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func taintString(t corev1.Taint) string {
	var b strings.Builder
	b.WriteString(t.Key)
	if t.Value != "" {
		b.WriteString("=" + t.Value)
	}
	b.WriteString(":" + string(t.Effect))
	return b.String()
}
