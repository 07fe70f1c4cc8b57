// This file compares rendered Helm manifests object by object and field by field, so a
// scale can prove that it changes nothing but the replica counts.

// Package render compares rendered Helm manifests object by object and field by field (the
// re-render guard's evidence), and keeps the deployed values of fields a chart generates anew at
// every render (the post-renderer of the upgrade). It may import only YAML and the Helm SDK.
package render

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Objects are a manifest's objects by key.
type Objects map[string]map[string]interface{}

// Key names an object: group/kind namespace/name.
func Key(obj map[string]interface{}) string {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	md, _ := obj["metadata"].(map[string]interface{})
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	gk := kind
	if group != "" {
		gk = kind + "." + group
	}
	if ns != "" {
		return fmt.Sprintf("%s %s/%s", gk, ns, name)
	}
	return fmt.Sprintf("%s %s", gk, name)
}

// Parse splits a manifest into objects.
func Parse(manifest string) (Objects, error) {
	out := Objects{}
	for _, doc := range SplitDocs(manifest) {
		var obj map[string]interface{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("parsing a rendered object: %w", err)
		}
		if len(obj) == 0 {
			continue
		}
		out[Key(obj)] = obj
	}
	return out, nil
}

// SplitDocs splits a manifest at its "---" lines, as Helm writes them (a "---" inside a value,
// such as a PEM block, is not a separator).
func SplitDocs(manifest string) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.Split(manifest, "\n") {
		if strings.TrimRight(line, " ") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
	}
	return append(docs, cur.String())
}

// Flatten maps every leaf of obj to its JSON text, keyed by a path like spec.replicas or
// spec.template.spec.containers[0].image.
func Flatten(obj interface{}) map[string]string {
	out := map[string]string{}
	flatten("", obj, out)
	return out
}

func flatten(prefix string, v interface{}, out map[string]string) {
	switch t := v.(type) {
	case map[string]interface{}:
		if len(t) == 0 {
			out[prefix] = "{}"
		}
		for k, val := range t {
			flatten(keyPath(prefix, k), val, out)
		}
	case []interface{}:
		if len(t) == 0 {
			out[prefix] = "[]"
		}
		for i, val := range t {
			flatten(indexPath(prefix, i), val, out)
		}
	default:
		b, _ := json.Marshal(t)
		out[prefix] = string(b)
	}
}

// underAny reports a path some path in paths lies under.
func underAny(prefix string, paths map[string]bool) bool {
	for p := range paths {
		if strings.HasPrefix(p, prefix+".") {
			return true
		}
	}
	return false
}

func keyPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func indexPath(prefix string, i int) string { return fmt.Sprintf("%s[%d]", prefix, i) }

// Pin returns a copy of obj in which every leaf whose Flatten path is in paths holds the value
// at the same place in from. Paths are matched while walking both trees, so keys that contain
// dots (data."tls.crt") are never parsed back. A path that from lacks keeps obj's value; the
// paths actually pinned are returned. A pinned path that obj lacks and from has is added (a
// label a post-renderer put on the deployed object).
func Pin(obj, from interface{}, paths map[string]bool) (interface{}, []string) {
	var pinned []string
	out := pin("", obj, from, true, paths, &pinned)
	sort.Strings(pinned)
	return out, pinned
}

func pin(prefix string, v, from interface{}, fromOK bool, paths map[string]bool, pinned *[]string) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		fm, ok := from.(map[string]interface{})
		out := make(map[string]interface{}, len(t))
		for k, val := range t {
			fv, has := fm[k]
			out[k] = pin(keyPath(prefix, k), val, fv, ok && fromOK && has, paths, pinned)
		}
		if ok && fromOK {
			for k, fv := range fm {
				if _, has := t[k]; has {
					continue
				}
				p := keyPath(prefix, k)
				if sub, isMap := fv.(map[string]interface{}); isMap && underAny(p, paths) {
					out[k] = pin(p, map[string]interface{}{}, sub, true, paths, pinned)
					continue
				}
				if paths[p] {
					if _, isList := fv.([]interface{}); !isList {
						*pinned = append(*pinned, p)
						out[k] = fv
					}
				}
			}
		}
		return out
	case []interface{}:
		fl, ok := from.([]interface{})
		out := make([]interface{}, len(t))
		for i, val := range t {
			var fv interface{}
			has := ok && i < len(fl)
			if has {
				fv = fl[i]
			}
			out[i] = pin(indexPath(prefix, i), val, fv, fromOK && has, paths, pinned)
		}
		return out
	}
	if paths[prefix] && fromOK {
		if _, leaf := from.(map[string]interface{}); !leaf {
			if _, list := from.([]interface{}); !list {
				*pinned = append(*pinned, prefix)
				return from
			}
		}
	}
	return v
}

// Change is one field that differs.
type Change struct {
	Object string `json:"object"`
	Path   string `json:"path"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

func (c Change) String() string {
	switch {
	case c.Old == "":
		return fmt.Sprintf("%s: %s added (%s)", c.Object, c.Path, c.New)
	case c.New == "":
		return fmt.Sprintf("%s: %s removed (was %s)", c.Object, c.Path, c.Old)
	}
	return fmt.Sprintf("%s: %s %s -> %s", c.Object, c.Path, c.Old, c.New)
}

// Diff is what differs between two manifests.
type Diff struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Changed []Change `json:"changed,omitempty"`
}

// Empty reports no difference.
func (d Diff) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0 }

// Volatile are fields that differ between two renders of the same input (generated
// certificates, random names), by object.
type Volatile map[string]map[string]bool

// Compare diffs a against b, leaving out volatile fields.
func Compare(a, b Objects, volatile Volatile) Diff {
	var d Diff
	for k := range a {
		if _, ok := b[k]; !ok {
			d.Removed = append(d.Removed, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d.Added = append(d.Added, k)
		}
	}
	for k, objA := range a {
		objB, ok := b[k]
		if !ok {
			continue
		}
		fa, fb := Flatten(objA), Flatten(objB)
		for p, va := range fa {
			if volatile[k][p] {
				continue
			}
			if vb, ok := fb[p]; !ok {
				d.Changed = append(d.Changed, Change{Object: k, Path: p, Old: va})
			} else if va != vb {
				d.Changed = append(d.Changed, Change{Object: k, Path: p, Old: va, New: vb})
			}
		}
		for p, vb := range fb {
			if _, ok := fa[p]; !ok && !volatile[k][p] {
				d.Changed = append(d.Changed, Change{Object: k, Path: p, New: vb})
			}
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	sort.Slice(d.Changed, func(i, j int) bool {
		if d.Changed[i].Object != d.Changed[j].Object {
			return d.Changed[i].Object < d.Changed[j].Object
		}
		return d.Changed[i].Path < d.Changed[j].Path
	})
	return d
}

// VolatileBetween returns the fields that differ between two renders of the same values.
func VolatileBetween(a, b Objects) Volatile {
	v := Volatile{}
	for _, c := range Compare(a, b, nil).Changed {
		if v[c.Object] == nil {
			v[c.Object] = map[string]bool{}
		}
		v[c.Object][c.Path] = true
	}
	return v
}

// Kept reports whether an object carries helm.sh/resource-policy: keep, so Helm leaves it in
// the cluster when it leaves the manifest.
func Kept(obj map[string]interface{}) bool {
	md, _ := obj["metadata"].(map[string]interface{})
	ann, _ := md["annotations"].(map[string]interface{})
	return ann["helm.sh/resource-policy"] == "keep"
}
