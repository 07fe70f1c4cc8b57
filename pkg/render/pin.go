// This file keeps the deployed values of fields a chart generates anew at every render
// (certificates from genCA and genSignedCert, random passwords), through a Helm post-renderer.
// An upgrade that changes only replica counts then leaves every other object byte for byte as
// deployed, and does not rotate the operator's webhook PKI behind the operator's back.

package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Fields are the fields to pin, by object key (Key) and Flatten path.
type Fields map[string]map[string]bool

// Keys are the objects with pinned fields, sorted.
func (f Fields) Keys() []string {
	out := make([]string, 0, len(f))
	for obj := range f {
		out = append(out, obj)
	}
	sort.Strings(out)
	return out
}

// Paths are one object's pinned fields, sorted.
func (f Fields) Paths(obj string) []string {
	out := make([]string, 0, len(f[obj]))
	for p := range f[obj] {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// PostRenderer rewrites a rendered manifest so the pinned fields hold their deployed values.
// It satisfies Helm's postrender.PostRenderer.
type PostRenderer struct {
	// Deployed is the manifest stored in the deployed release.
	Deployed string
	Fields   Fields
}

// Run is Helm's post-render hook.
func (p PostRenderer) Run(rendered *bytes.Buffer) (*bytes.Buffer, error) {
	out, err := Apply(rendered.String(), p.Deployed, p.Fields)
	if err != nil {
		return nil, err
	}
	return bytes.NewBufferString(out), nil
}

// chunk is one document with its separator and comments, exactly as written.
type chunk struct {
	text string
	obj  map[string]interface{}
}

// chunks splits a manifest at its `---` lines; joining the texts gives the input back.
func chunks(manifest string) ([]chunk, error) {
	var out []chunk
	var cur strings.Builder
	flush := func() error {
		if cur.Len() == 0 {
			return nil
		}
		c := chunk{text: cur.String()}
		if err := yaml.Unmarshal([]byte(c.text), &c.obj); err != nil {
			return fmt.Errorf("parsing a rendered object: %w", err)
		}
		out = append(out, c)
		cur.Reset()
		return nil
	}
	lines := strings.SplitAfter(manifest, "\n")
	for _, line := range lines {
		if strings.TrimRight(line, " \r\n") == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		cur.WriteString(line)
	}
	return out, flush()
}

// Apply returns manifest with the fields pinned to their values in deployed. An object that then
// equals its deployed form is written exactly as deployed (comments and layout included); one
// that still differs (its replica count) keeps its own text with the pinned values put in place.
// Objects absent from deployed, and fields deployed lacks, are left as rendered.
func Apply(manifest, deployed string, fields Fields) (string, error) {
	docs, err := chunks(manifest)
	if err != nil {
		return "", err
	}
	dep, err := chunks(deployed)
	if err != nil {
		return "", fmt.Errorf("deployed manifest: %w", err)
	}
	byKey := map[string]chunk{}
	for _, d := range dep {
		if len(d.obj) > 0 {
			byKey[Key(d.obj)] = d
		}
	}
	var b strings.Builder
	for _, d := range docs {
		b.WriteString(pinChunk(d, byKey, fields))
	}
	return b.String(), nil
}

func pinChunk(d chunk, deployed map[string]chunk, fields Fields) string {
	if len(d.obj) == 0 {
		return d.text
	}
	key := Key(d.obj)
	paths, was := fields[key], deployed[key]
	if len(paths) == 0 || was.obj == nil {
		return d.text
	}
	pinned, done := Pin(d.obj, was.obj, paths)
	if len(done) == 0 {
		return d.text
	}
	if reflect.DeepEqual(pinned, interface{}(was.obj)) {
		return was.text
	}
	if text, ok := replaceText(d, was.obj, done); ok {
		return text
	}
	// Values that are not plain strings in the text: write the object anew under its comments.
	body, err := yaml.Marshal(pinned)
	if err != nil {
		return d.text
	}
	return header(d.text) + string(body)
}

// replaceText swaps each pinned string value in the document's text, where it occurs once.
func replaceText(d chunk, was map[string]interface{}, paths []string) (string, bool) {
	now, old := Flatten(d.obj), Flatten(was)
	text := d.text
	for _, p := range paths {
		var from, to string
		if json.Unmarshal([]byte(now[p]), &from) != nil || json.Unmarshal([]byte(old[p]), &to) != nil || from == "" {
			return "", false
		}
		if strings.Count(text, from) != 1 {
			return "", false
		}
		text = strings.Replace(text, from, to, 1)
	}
	return text, true
}

// header is the separator and comment lines that open a document.
func header(text string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		t := strings.TrimSpace(line)
		if t != "---" && !strings.HasPrefix(t, "#") && t != "" {
			break
		}
		b.WriteString(line)
	}
	return b.String()
}
