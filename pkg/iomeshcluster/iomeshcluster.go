// Package iomeshcluster holds the IOMeshCluster custom resource (iomesh.com/v1alpha1) as this
// tool reads it: the 1.0.x schema and the fields 1.1 and 1.2 add (spec.version,
// chunks[].nodename, optional spaceInfo fields). It is decoded once, tolerantly: unknown fields
// are ignored, a field an older version lacks stays empty, and the fields the closed-source
// operator writes accept any JSON scalar. View is what IOMesh reports in it, read for people and
// rules (chunks matched to pods, capacity, the scale-in procedure per version). It may import
// only the Kubernetes libraries, no other package of this module.
package iomeshcluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"
)

// GVR is the resource the IOMesh operator reconciles.
var GVR = schema.GroupVersionResource{Group: "iomesh.com", Version: "v1alpha1", Resource: "iomeshclusters"}

// APIVersion and Kind name the resource in manifests.
const (
	APIVersion = "iomesh.com/v1alpha1"
	Kind       = "IOMeshCluster"
)

// Chunk states IOMesh reports (chunkSummary.chunks[].status).
const (
	ChunkHealthy        = "CHUNK_STATUS_CONNECTED_HEALTHY"
	ChunkInitializing   = "CHUNK_STATUS_INITIALIZING"
	ChunkSessionExpired = "CHUNK_STATUS_SESSION_EXPIRED"
)

// IOMeshCluster is the resource, with the fields the tool reads.
type IOMeshCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              Spec    `json:"spec,omitempty"`
	Status            *Status `json:"status,omitempty"`
}

// Spec is what the chart (or the user, for a cluster applied directly) asks for.
type Spec struct {
	// Version is the chart version the cluster runs (1.1+).
	Version            string    `json:"version,omitempty"`
	Edition            string    `json:"edition,omitempty"`
	Platform           string    `json:"platform,omitempty"`
	DiskDeploymentMode string    `json:"diskDeploymentMode,omitempty"`
	LicenseSecretName  string    `json:"licenseSecretName,omitempty"`
	Chunk              ChunkSpec `json:"chunk,omitempty"`
	Meta               Component `json:"meta,omitempty"`
}

// Component is what chunk and meta share.
type Component struct {
	Replicas *int64 `json:"replicas,omitempty"`
	Image    Image  `json:"image,omitempty"`
	// PodPolicy and Resources are handed on as the chart's values (free-form there).
	PodPolicy json.RawMessage `json:"podPolicy,omitempty"`
	Resources json.RawMessage `json:"resources,omitempty"`
}

// Image is a component's container image.
type Image struct {
	Repository string `json:"repository,omitempty"`
	Tag        string `json:"tag,omitempty"`
}

// ChunkSpec is the chunk component with its disks.
type ChunkSpec struct {
	Component     `json:",inline"`
	DataCIDR      string                    `json:"dataCIDR,omitempty"`
	DeviceMap     map[string]DeviceMapEntry `json:"deviceMap,omitempty"`
	DeviceManager DeviceManager             `json:"devicemanager,omitempty"`
}

// DeviceMapEntry selects the BlockDevices of one mount type.
type DeviceMapEntry struct {
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Exclude  []string              `json:"exclude,omitempty"`
}

// DeviceManager says where the BlockDevices live.
type DeviceManager struct {
	BlockDeviceNamespace string `json:"blockDeviceNamespace,omitempty"`
}

// Status is what the operator publishes. A nil pointer is a part it did not report.
type Status struct {
	License         *License             `json:"license,omitempty"`
	Summary         Summary              `json:"summary,omitempty"`
	TaskInProcess   *Text                `json:"taskInProcess,omitempty"`
	AttachedDevices List[AttachedDevice] `json:"attachedDevices,omitempty"`
	ReadyReplicas   map[string]int64     `json:"readyReplicas,omitempty"`
}

// UnmarshalJSON reads each part of the status on its own: a part of an unexpected type is not
// reported, and the rest is kept.
func (s *Status) UnmarshalJSON(b []byte) error {
	*s = Status{}
	type plain Status
	return decodeFields(b, (*plain)(s))
}

// UnmarshalJSON reads each summary on its own, as Status does.
func (s *Summary) UnmarshalJSON(b []byte) error {
	*s = Summary{}
	type plain Summary
	return decodeFields(b, (*plain)(s))
}

// decodeFields decodes a JSON object into the struct out points to one field at a time, leaving
// the fields whose value does not decode at their zero value.
func decodeFields(b []byte, out interface{}) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	for k, v := range fields {
		one, err := json.Marshal(map[string]json.RawMessage{k: v})
		if err != nil {
			continue
		}
		// A field that fails leaves its zero value; json.Unmarshal may have set part of it.
		if json.Unmarshal(one, out) != nil {
			clearField(out, k)
		}
	}
	return nil
}

// Summary is IOMesh's own view of the cluster.
type Summary struct {
	ChunkSummary   *ChunkSummary   `json:"chunkSummary,omitempty"`
	MetaSummary    *MetaSummary    `json:"metaSummary,omitempty"`
	ClusterSummary *ClusterSummary `json:"clusterSummary,omitempty"`
}

// ChunkSummary lists the chunks registered with meta. Malformed counts what could not be read
// (chunks that is not a list, an element of another shape): any of it may be a registered chunk.
type ChunkSummary struct {
	Chunks    []Chunk `json:"chunks,omitempty"`
	Malformed int     `json:"-"`
}

// UnmarshalJSON reads each chunk on its own and counts the ones it cannot read.
func (c *ChunkSummary) UnmarshalJSON(b []byte) error {
	*c = ChunkSummary{}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	raw, ok := fields["chunks"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		c.Malformed = 1
		return nil
	}
	for _, r := range list {
		var ch Chunk
		if json.Unmarshal(r, &ch) != nil {
			c.Malformed++
			continue
		}
		c.Chunks = append(c.Chunks, ch)
	}
	return nil
}

// Chunk is one registered chunk.
type Chunk struct {
	ID ChunkID `json:"id"`
	// IP is the chunk's address on the storage network (dataCIDR).
	IP Text `json:"ip,omitempty"`
	// NodeName is reported from 1.1 on.
	NodeName  Text       `json:"nodename,omitempty"`
	Status    Text       `json:"status,omitempty"`
	SpaceInfo *SpaceInfo `json:"spaceInfo,omitempty"`
}

// MetaSummary is the meta cluster.
type MetaSummary struct {
	Leader    Text       `json:"leader,omitempty"`
	AliveHost List[Text] `json:"aliveHost,omitempty"`
	Status    Text       `json:"status,omitempty"`
}

// ClusterSummary is the whole cluster's space.
type ClusterSummary struct {
	SpaceInfo *SpaceInfo `json:"spaceInfo,omitempty"`
}

// SpaceInfo is capacity as IOMesh writes it ("1.38Ti", "0B"); every field optional from 1.1.
type SpaceInfo struct {
	TotalDataCapacity    Text `json:"totalDataCapacity,omitempty"`
	UsedDataSpace        Text `json:"usedDataSpace,omitempty"`
	AllocatedDataSpace   Text `json:"allocatedDataSpace,omitempty"`
	ProvisionedDataSpace Text `json:"provisionedDataSpace,omitempty"`
	FailureDataSpace     Text `json:"failureDataSpace,omitempty"`
	TotalCacheCapacity   Text `json:"totalCacheCapacity,omitempty"`
	UsedCacheSpace       Text `json:"usedCacheSpace,omitempty"`
	DirtyCacheSpace      Text `json:"dirtyCacheSpace,omitempty"`
	FailureCacheSpace    Text `json:"failureCacheSpace,omitempty"`
}

// AttachedDevice is one disk a chunk mounted.
type AttachedDevice struct {
	Device    Text `json:"device,omitempty"`
	MountType Text `json:"mountType,omitempty"`
	NodeName  Text `json:"nodeName,omitempty"`
	UUID      Text `json:"uuid,omitempty"`
}

// License is status.license.
type License struct {
	MaxChunkNum                json.RawMessage `json:"maxChunkNum,omitempty"`
	LicenseType                Text            `json:"licenseType,omitempty"`
	SoftwareEdition            Text            `json:"softwareEdition,omitempty"`
	ExpirationDate             Text            `json:"expirationDate,omitempty"`
	SubscriptionExpirationDate Text            `json:"subscriptionExpirationDate,omitempty"`
	MaxPhysicalDataCapacity    Text            `json:"maxPhysicalDataCapacity,omitempty"`
	Serial                     Text            `json:"serial,omitempty"`
	SignDate                   Text            `json:"signDate,omitempty"`
	// fields counts the keys the operator wrote: an empty object is no licence.
	fields int
}

// UnmarshalJSON keeps the number of keys beside the fields; anything but an object is no
// licence.
func (l *License) UnmarshalJSON(b []byte) error {
	*l = License{}
	var keys map[string]json.RawMessage
	if json.Unmarshal(b, &keys) != nil {
		return nil
	}
	type plain License
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*l = License(p)
	l.fields = len(keys)
	return nil
}

// Published reports a licence with at least one field.
func (l *License) Published() bool { return l != nil && l.fields > 0 }

// Text is a string the operator writes. Anything else in its place (a number, an object) is
// kept in its printed form rather than failing the whole resource; null and empty objects or
// lists read as "".
type Text string

// UnmarshalJSON accepts any JSON value.
func (t *Text) UnmarshalJSON(b []byte) error {
	v, err := anyValue(b)
	if err != nil {
		return err
	}
	*t = ""
	switch x := v.(type) {
	case nil:
	case string:
		*t = Text(x)
	case map[string]interface{}:
		if len(x) > 0 {
			*t = Text(fmt.Sprint(x))
		}
	case []interface{}:
		if len(x) > 0 {
			*t = Text(fmt.Sprint(x))
		}
	default:
		*t = Text(fmt.Sprint(x))
	}
	return nil
}

// anyValue decodes any JSON value, numbers as written.
func anyValue(b []byte) (interface{}, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v interface{}
	err := d.Decode(&v)
	return v, err
}

// String is the text, trimmed.
func (t Text) String() string { return strings.TrimSpace(string(t)) }

// Safe is the text, trimmed, with what could drive a terminal escaped: the operator's text
// (and whoever can write the status) must not.
func (t Text) Safe() string { return printers.EscapeTerminal(t.String()) }

// ChunkID is a chunk's id as the operator writes it. Only an integer of 1 or more is an id: 0,
// a fraction, a string or a number out of range leaves N at 0 and keeps the text in Raw, so a
// chunk with such an id is never taken for another (or for "none").
type ChunkID struct {
	N   int64
	Raw string
}

// UnmarshalJSON accepts any JSON value.
func (c *ChunkID) UnmarshalJSON(b []byte) error {
	v, err := anyValue(b)
	if err != nil {
		return err
	}
	*c = ChunkID{Raw: strings.TrimSpace(string(b))}
	if num, ok := v.(json.Number); ok {
		if i, err := strconv.ParseInt(num.String(), 10, 64); err == nil && i >= 1 {
			c.N = i
		} else if f, err := num.Float64(); err == nil && f >= 1 && f <= 1<<53 && f == math.Trunc(f) {
			c.N = int64(f) // 3.0: a whole number written as a float
		}
	}
	return nil
}

// MarshalJSON writes the id, or the text it was read from.
func (c ChunkID) MarshalJSON() ([]byte, error) {
	if c.Valid() || c.Raw == "" {
		return json.Marshal(c.N)
	}
	return json.Marshal(c.Raw)
}

// Valid reports an integer id of 1 or more.
func (c ChunkID) Valid() bool { return c.N >= 1 }

// List is a list the operator writes: an element of another shape is skipped, and a value that
// is not a list reads as empty, instead of failing the whole resource.
type List[T any] []T

// UnmarshalJSON decodes the elements one by one.
func (l *List[T]) UnmarshalJSON(b []byte) error {
	*l = nil
	var raw []json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	for _, r := range raw {
		var v T
		if json.Unmarshal(r, &v) == nil {
			*l = append(*l, v)
		}
	}
	return nil
}

// FromUnstructured decodes an IOMeshCluster read through the dynamic client.
func FromUnstructured(u *unstructured.Unstructured) (*IOMeshCluster, error) {
	return FromObject(u.Object)
}

// FromObject decodes an IOMeshCluster's content.
func FromObject(obj map[string]interface{}) (*IOMeshCluster, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("reading the IOMeshCluster: %w", err)
	}
	return Decode(b)
}

// Decode decodes an IOMeshCluster from JSON. The spec must have the CRD's shape; a status of
// another shape reads as not reported.
func Decode(b []byte) (*IOMeshCluster, error) {
	var parts struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata,omitempty"`
		Spec              json.RawMessage `json:"spec,omitempty"`
		Status            json.RawMessage `json:"status,omitempty"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return nil, fmt.Errorf("reading the IOMeshCluster: %w", err)
	}
	c := &IOMeshCluster{TypeMeta: parts.TypeMeta, ObjectMeta: parts.ObjectMeta}
	if len(parts.Spec) > 0 {
		if err := json.Unmarshal(parts.Spec, &c.Spec); err != nil {
			return nil, fmt.Errorf("reading IOMeshCluster %s/%s: spec: %w", c.Namespace, c.Name, err)
		}
	}
	if len(parts.Status) > 0 {
		var st Status
		if json.Unmarshal(parts.Status, &st) == nil {
			c.Status = &st
		}
	}
	return c, nil
}

// Replicas is a component's spec.<component>.replicas, or nil.
func (s Spec) Replicas(component string) *int64 {
	switch component {
	case "chunk":
		return s.Chunk.Replicas
	case "meta":
		return s.Meta.Replicas
	}
	return nil
}

// Component is chunk's or meta's shared spec.
func (s Spec) Component(component string) Component {
	if component == "chunk" {
		return s.Chunk.Component
	}
	return s.Meta
}

// License is the published licence, or nil.
func (c *IOMeshCluster) License() *License {
	if c == nil || c.Status == nil || !c.Status.License.Published() {
		return nil
	}
	return c.Status.License
}

// BlockDeviceNamespace is where the cluster's BlockDevices live ("" when the spec does not say).
func (c *IOMeshCluster) BlockDeviceNamespace() string {
	if c == nil {
		return ""
	}
	return c.Spec.Chunk.DeviceManager.BlockDeviceNamespace
}

// clearField sets the field of the struct out points to whose JSON name is name to its zero
// value.
func clearField(out interface{}, name string) {
	v := reflect.ValueOf(out).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag == name {
			v.Field(i).Set(reflect.Zero(t.Field(i).Type))
		}
	}
}
