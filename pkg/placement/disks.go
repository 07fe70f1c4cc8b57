// Which disks a chunk pod mounts: the BlockDevices IOMesh discovers on
// each node, matched against the IOMeshCluster's spec.chunk.deviceMap (per mount type a label
// selector and an exclude list; a device with a filesystem is never mounted) and the disk
// deployment mode (hybrid needs a cache and a data disk, all-flash one data disk).

package placement

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
)

// BlockDeviceGVR is NDM's BlockDevice resource (short name bd).
var BlockDeviceGVR = schema.GroupVersionResource{Group: "openebs.io", Version: "v1alpha1", Resource: "blockdevices"}

// Mount types of the deviceMap.
const (
	CacheWithJournal     = "cacheWithJournal"
	DataStore            = "dataStore"
	DataStoreWithJournal = "dataStoreWithJournal"
)

// Disk deployment modes.
const (
	HybridFlash = "hybridFlash"
	AllFlash    = "allFlash"
)

// BlockDevice is one openebs.io BlockDevice, as IOMesh discovers it on a node.
type BlockDevice struct {
	Name       string            `json:"name"`
	Node       string            `json:"node"`
	Path       string            `json:"path,omitempty"`
	Bytes      int64             `json:"bytes"`
	FSType     string            `json:"fsType,omitempty"`
	ClaimState string            `json:"claimState,omitempty"`
	State      string            `json:"state,omitempty"`
	Labels     map[string]string `json:"-"`
}

// BlockDevicesFrom reads BlockDevices.
func BlockDevicesFrom(items []unstructured.Unstructured) []BlockDevice {
	out := make([]BlockDevice, 0, len(items))
	for _, u := range items {
		o := u.Object
		d := BlockDevice{Name: u.GetName(), Labels: u.GetLabels()}
		d.Node, _, _ = unstructured.NestedString(o, "spec", "nodeAttributes", "nodeName")
		if d.Node == "" {
			d.Node = d.Labels["kubernetes.io/hostname"]
		}
		d.Path, _, _ = unstructured.NestedString(o, "spec", "path")
		d.FSType, _, _ = unstructured.NestedString(o, "spec", "filesystem", "fsType")
		d.ClaimState, _, _ = unstructured.NestedString(o, "status", "claimState")
		d.State, _, _ = unstructured.NestedString(o, "status", "state")
		if v, ok, _ := unstructured.NestedFieldNoCopy(o, "spec", "capacity", "storage"); ok {
			switch n := v.(type) {
			case int64:
				d.Bytes = n
			case float64:
				d.Bytes = int64(n)
			}
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Mount is one mount type of the deviceMap.
type Mount struct {
	Type     string                `json:"type"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Exclude  []string              `json:"exclude,omitempty"`
}

// DeviceMap is the deviceMap with the mode it serves.
type DeviceMap struct {
	Mode   string  `json:"mode"`
	Mounts []Mount `json:"mounts"`
}

// DeviceMapFromSpec reads diskDeploymentMode and chunk.deviceMap from an IOMeshCluster's spec.
func DeviceMapFromSpec(spec iomeshcluster.Spec) DeviceMap {
	m := DeviceMap{Mode: HybridFlash}
	if spec.DiskDeploymentMode != "" {
		m.Mode = spec.DiskDeploymentMode
	}
	raw := spec.Chunk.DeviceMap
	types := make([]string, 0, len(raw))
	for t := range raw {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		entry := raw[t]
		m.Mounts = append(m.Mounts, Mount{Type: t, Selector: entry.Selector, Exclude: entry.Exclude})
	}
	return m
}

// Required are the mount types the mode needs on every chunk node.
func (m DeviceMap) Required() []string {
	if m.Mode == AllFlash {
		return []string{DataStoreWithJournal}
	}
	return []string{CacheWithJournal, DataStore}
}

// Empty reports a deviceMap that mounts nothing.
func (m DeviceMap) Empty() bool { return len(m.Mounts) == 0 }

// mountOf is the mount type that takes d, or "": not excluded, no filesystem, selected.
func (m DeviceMap) mountOf(d BlockDevice) (string, error) {
	if d.FSType != "" {
		return "", nil
	}
	for _, mt := range m.Mounts {
		if contains(mt.Exclude, d.Name) || mt.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(mt.Selector)
		if err != nil {
			return "", fmt.Errorf("deviceMap.%s.selector: %w", mt.Type, err)
		}
		if sel.Matches(labels.Set(d.Labels)) {
			return mt.Type, nil
		}
	}
	return "", nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// NodeDisks are the disks a chunk pod on a node mounts, by mount type.
type NodeDisks struct {
	Node   string                   `json:"node"`
	ByType map[string][]BlockDevice `json:"byType,omitempty"`
	Bytes  int64                    `json:"rawBytes"`
	// Lacking are the mount types the mode needs that no disk on the node serves.
	Lacking []string `json:"lacking,omitempty"`
}

// Count is the number of disks.
func (n NodeDisks) Count() int {
	c := 0
	for _, ds := range n.ByType {
		c += len(ds)
	}
	return c
}

// Describe is the disks for people: "dataStore: blockdevice-a 1.8Ti; cacheWithJournal: ...".
func (n NodeDisks) Describe() string {
	if n.Count() == 0 {
		return "no usable disk"
	}
	types := make([]string, 0, len(n.ByType))
	for t := range n.ByType {
		types = append(types, t)
	}
	sort.Strings(types)
	var parts []string
	for _, t := range types {
		var ds []string
		for _, d := range n.ByType[t] {
			ds = append(ds, d.Name+" "+HumanBytes(d.Bytes))
		}
		parts = append(parts, t+": "+strings.Join(ds, ", "))
	}
	return strings.Join(parts, "; ")
}

// usable reports a device a new chunk pod can take: active and not claimed by anyone yet.
func usable(d BlockDevice) bool {
	return (d.State == "" || d.State == "Active") && (d.ClaimState == "" || d.ClaimState == "Unclaimed")
}

// DisksForNewChunk is what a new chunk pod on node would mount.
func DisksForNewChunk(m DeviceMap, devs []BlockDevice, node string) (NodeDisks, error) {
	return forNode(m, devs, node, usable)
}

// Mounted are the disks a running chunk pod on node has claimed, as the deviceMap selects them.
func MountedDisks(m DeviceMap, devs []BlockDevice, node string) (NodeDisks, error) {
	return forNode(m, devs, node, func(d BlockDevice) bool { return d.ClaimState == "Claimed" })
}

func forNode(m DeviceMap, devs []BlockDevice, node string, keep func(BlockDevice) bool) (NodeDisks, error) {
	out := NodeDisks{Node: node}
	for _, d := range devs {
		if d.Node != node || !keep(d) {
			continue
		}
		t, err := m.mountOf(d)
		if err != nil {
			return out, err
		}
		if t == "" {
			continue
		}
		if out.ByType == nil {
			out.ByType = map[string][]BlockDevice{}
		}
		out.ByType[t] = append(out.ByType[t], d)
		out.Bytes += d.Bytes
	}
	for _, t := range m.Required() {
		if len(out.ByType[t]) == 0 {
			out.Lacking = append(out.Lacking, t)
		}
	}
	return out, nil
}

// Human formats bytes as IOMesh shows capacity (binary units, one decimal).
func HumanBytes(b int64) string {
	units := []string{"B", "Ki", "Mi", "Gi", "Ti", "Pi"}
	f := float64(b)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", b)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") + units[i]
}
