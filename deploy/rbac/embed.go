// Package rbac embeds the least-privilege roles of this directory, so that `kubectl iomesh rbac`
// prints exactly what is committed here. It holds data only.
package rbac

import "embed"

// Files are readonly.yaml, scale.yaml and direct.yaml.
//
//go:embed *.yaml
var Files embed.FS
