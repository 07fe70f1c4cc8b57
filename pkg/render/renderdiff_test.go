package render

import (
	"strings"
	"testing"
)

func TestParseKeysAndCompare(t *testing.T) {
	a, err := Parse("---\n# c\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {tls.crt: A, keep: K}\n---\n\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules: []\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a["Secret ns/s"]; !ok || len(a) != 2 {
		t.Fatalf("keys %v", a)
	}
	if _, ok := a["ClusterRole.rbac.authorization.k8s.io r"]; !ok {
		t.Fatal("a cluster-scoped key with its group")
	}
	b, _ := Parse("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {tls.crt: B, extra: E}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: ns}\n")
	d := Compare(a, b, nil)
	if strings.Join(d.Added, ",") != "ConfigMap ns/new" || strings.Join(d.Removed, ",") != "ClusterRole.rbac.authorization.k8s.io r" {
		t.Fatalf("added %v removed %v", d.Added, d.Removed)
	}
	var got []string
	for _, c := range d.Changed {
		got = append(got, c.String())
	}
	want := []string{`Secret ns/s: data.extra added ("E")`, `Secret ns/s: data.keep removed (was "K")`, `Secret ns/s: data.tls.crt "A" -> "B"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("changed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	v := VolatileBetween(a, b)
	if !v["Secret ns/s"]["data.tls.crt"] || d.Empty() {
		t.Fatalf("volatile %v", v)
	}
	if d2 := Compare(a, a, nil); !d2.Empty() {
		t.Fatal("an object differs from itself")
	}
	d3 := Compare(map[string]map[string]interface{}{"Secret ns/s": a["Secret ns/s"]}, map[string]map[string]interface{}{"Secret ns/s": b["Secret ns/s"]}, v)
	for _, c := range d3.Changed {
		if c.Path == "data.tls.crt" {
			t.Fatal("a volatile field was compared")
		}
	}
	if _, err := Parse("kind: [\n"); err == nil {
		t.Fatal("bad YAML accepted")
	}
}

func TestFlattenAndKept(t *testing.T) {
	f := Flatten(map[string]interface{}{"a": map[string]interface{}{}, "b": []interface{}{}, "c": []interface{}{map[string]interface{}{"d": 1.0}}})
	if f["a"] != "{}" || f["b"] != "[]" || f["c[0].d"] != "1" {
		t.Fatalf("flatten %v", f)
	}
	keep := map[string]interface{}{"metadata": map[string]interface{}{"annotations": map[string]interface{}{"helm.sh/resource-policy": "keep"}}}
	if !Kept(keep) || Kept(map[string]interface{}{"metadata": map[string]interface{}{}}) {
		t.Fatal("keep policy")
	}
}

func TestPin(t *testing.T) {
	obj := map[string]interface{}{"data": map[string]interface{}{"tls.crt": "NEW", "n": 5.0}, "list": []interface{}{"x", map[string]interface{}{"k": "NEW"}}}
	from := map[string]interface{}{"data": map[string]interface{}{"tls.crt": "OLD", "n": 3.0}, "list": []interface{}{"y"}}
	out, pinned := Pin(obj, from, map[string]bool{"data.tls.crt": true, "list[1].k": true, "list[0]": true})
	m := out.(map[string]interface{})
	if m["data"].(map[string]interface{})["tls.crt"] != "OLD" || m["data"].(map[string]interface{})["n"] != 5.0 {
		t.Fatalf("pinned %v", m)
	}
	// list[1] does not exist in from: kept as rendered.
	if m["list"].([]interface{})[1].(map[string]interface{})["k"] != "NEW" || m["list"].([]interface{})[0] != "y" {
		t.Fatalf("list %v", m["list"])
	}
	if strings.Join(pinned, ",") != "data.tls.crt,list[0]" {
		t.Fatalf("pinned paths %v", pinned)
	}
	if obj["data"].(map[string]interface{})["tls.crt"] != "NEW" {
		t.Fatal("Pin changed its input")
	}
}

// A pinned path the new object lacks is added from the deployed one (Flux's labels), also where
// the whole map is missing; a path not pinned is never added.
func TestPinAddsMissingLeaves(t *testing.T) {
	obj := map[string]interface{}{"metadata": map[string]interface{}{"name": "x"}}
	from := map[string]interface{}{"metadata": map[string]interface{}{"name": "x", "labels": map[string]interface{}{
		"helm.toolkit.fluxcd.io/name": "iomesh", "other": "kept out",
	}}}
	out, pinned := Pin(obj, from, map[string]bool{"metadata.labels.helm.toolkit.fluxcd.io/name": true})
	labels := out.(map[string]interface{})["metadata"].(map[string]interface{})["labels"].(map[string]interface{})
	if labels["helm.toolkit.fluxcd.io/name"] != "iomesh" || labels["other"] != nil || len(pinned) != 1 {
		t.Fatalf("labels %v, pinned %v", labels, pinned)
	}
	if _, has := obj["metadata"].(map[string]interface{})["labels"]; has {
		t.Fatal("the input was changed")
	}
	out, pinned = Pin(obj, from, map[string]bool{"metadata.annotations.x": true})
	if _, has := out.(map[string]interface{})["metadata"].(map[string]interface{})["labels"]; has || len(pinned) != 0 {
		t.Fatalf("a path not pinned was added: %v", out)
	}
}
