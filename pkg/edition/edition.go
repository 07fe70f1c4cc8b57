// Package edition decides whether an IOMesh cluster runs the Community or the Enterprise
// edition, and says which source decided it. It may import only the leaf packages and the
// Kubernetes libraries (depguard).
package edition

import (
	"strings"
)

// Edition is an IOMesh edition.
type Edition string

const (
	Community  Edition = "community"
	Enterprise Edition = "enterprise"
)

// Title is the edition as people write it.
func (e Edition) Title() string {
	switch e {
	case Community:
		return "Community"
	case Enterprise:
		return "Enterprise"
	}
	return string(e)
}

// Source names where an edition was read.
type Source string

const (
	SourceValues  Source = "values"  // iomesh.edition in the release values
	SourceSpec    Source = "spec"    // IOMeshCluster spec.edition (chart 1.1+)
	SourceLicense Source = "license" // IOMeshCluster status.license.softwareEdition
	SourceImage   Source = "image"   // the chunk/meta image tag suffix
	SourceDefault Source = "default" // nothing said: the chart installs Community
)

// Describe says in words where the edition came from.
func (s Source) Describe() string {
	switch s {
	case SourceValues:
		return "release values iomesh.edition"
	case SourceSpec:
		return "IOMeshCluster spec.edition"
	case SourceLicense:
		return "IOMeshCluster status.license.softwareEdition"
	case SourceImage:
		return "chunk/meta image tag"
	case SourceDefault:
		return "default: no edition set, the chart installs Community"
	}
	return string(s)
}

// Inputs are every place an edition may be written, as found.
type Inputs struct {
	Values  string   // iomesh.edition
	Spec    string   // spec.edition
	License string   // status.license.softwareEdition
	Images  []string // chunk and meta container images
}

// Result is the decided edition and its source.
type Result struct {
	Edition Edition `json:"edition"`
	Source  Source  `json:"source"`
	// Detail is the raw text that decided it (an image reference, a licence string).
	Detail string `json:"detail,omitempty"`
}

// Parse maps the spellings seen in values, the CR and the licence (including the product UI's
// "ENTERPRICE") to an edition; anything else is "".
func Parse(s string) Edition {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "community":
		return Community
	case "enterprise", "enterprice":
		return Enterprise
	}
	return ""
}

// FromImage reads the edition from an image tag such as v5.3.0-rc13-enterprise or
// v5.3.0-rc13-community-hygon.
func FromImage(image string) Edition {
	tag := image
	if i := strings.LastIndex(tag, "@"); i >= 0 {
		tag = tag[:i]
	}
	i := strings.LastIndex(tag, ":")
	if i < 0 || strings.Contains(tag[i:], "/") {
		return ""
	}
	tag = strings.TrimSuffix(strings.ToLower(tag[i+1:]), "-hygon")
	switch {
	case strings.HasSuffix(tag, "-enterprise"):
		return Enterprise
	case strings.HasSuffix(tag, "-community"):
		return Community
	}
	return ""
}

// Resolve applies the order: values, spec, licence, image tag; nothing means Community.
func Resolve(in Inputs) Result {
	if e := Parse(in.Values); e != "" {
		return Result{Edition: e, Source: SourceValues, Detail: in.Values}
	}
	if e := Parse(in.Spec); e != "" {
		return Result{Edition: e, Source: SourceSpec, Detail: in.Spec}
	}
	if e := Parse(in.License); e != "" {
		return Result{Edition: e, Source: SourceLicense, Detail: in.License}
	}
	for _, img := range in.Images {
		if e := FromImage(img); e != "" {
			return Result{Edition: e, Source: SourceImage, Detail: img}
		}
	}
	return Result{Edition: Community, Source: SourceDefault}
}

// The IOMesh limits on pod counts (the scale-out documentation).
const (
	// ChunkMin is the fewest chunk pods a cluster runs.
	ChunkMin = 3
	// ChunkMax is the most chunk pods Enterprise allows.
	ChunkMax = 255
	// CommunityMax is the most chunk or meta pods Community allows: it cannot scale out.
	CommunityMax = 3
	// MetaSmall and MetaLarge are the supported meta counts.
	MetaSmall = 3
	MetaLarge = 5
	// MetaLargeFrom is the IOMesh node count from which 5 meta pods are advised.
	MetaLargeFrom = 5
)

// MetaAllowed reports a supported meta count.
func MetaAllowed(n int) bool { return n == MetaSmall || n == MetaLarge }

// MaxChunk is the most chunk pods the edition allows.
func (e Edition) MaxChunk() int {
	if e == Enterprise {
		return ChunkMax
	}
	return CommunityMax
}

// MaxMeta is the most meta pods the edition allows.
func (e Edition) MaxMeta() int {
	if e == Enterprise {
		return MetaLarge
	}
	return CommunityMax
}
