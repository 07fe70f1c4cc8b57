package render

import (
	"bytes"
	"strings"
	"testing"
)

const deployed = `---
# Source: iomesh/templates/webhook.yaml
apiVersion: v1
kind: Secret
metadata:
  name: iomesh-webhook-cert
  namespace: iomesh-system
type: kubernetes.io/tls
data:
  ca.crt: OLDCA
  tls.crt: OLDCRT
  tls.key: OLDKEY
---
# Source: iomesh/templates/webhook.yaml
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: iomesh-validating-webhook-configuration
webhooks:
  - name: iomeshcluster.iomesh.com
    clientConfig:
      caBundle: OLDCA
---
# Source: iomesh/templates/chunk.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: iomesh-chunk
  namespace: iomesh-system
  annotations:
    token: OLDTOKEN
spec:
  replicas: 3
`

// rendered is the chart rendered again with chunk 5: fresh certificates, a fresh token on the
// StatefulSet, documents in another order, a new object with a random field, extra comments.
const rendered = `---
# Source: iomesh/templates/chunk.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: iomesh-chunk
  namespace: iomesh-system
  annotations:
    token: NEWTOKEN
spec:
  # a comment inside the body, which only a swap in the text keeps
  replicas: 5
---
# Source: iomesh/templates/webhook.yaml
# a comment the template writes
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: iomesh-validating-webhook-configuration
webhooks:
  - name: iomeshcluster.iomesh.com
    clientConfig:
      caBundle: NEWCA
---
# Source: iomesh/templates/new.yaml
apiVersion: v1
kind: Secret
metadata:
  name: iomesh-new
  namespace: iomesh-system
data:
  password: RANDOM
---
# Source: iomesh/templates/webhook.yaml
apiVersion: v1
kind: Secret
metadata:
  name: iomesh-webhook-cert
  namespace: iomesh-system
type: kubernetes.io/tls
data:
  ca.crt: NEWCA
  tls.crt: NEWCRT
  tls.key: NEWKEY
`

func fields() Fields {
	return Fields{
		"Secret iomesh-system/iomesh-webhook-cert":                                                            {"data.ca.crt": true, "data.tls.crt": true, "data.tls.key": true},
		"ValidatingWebhookConfiguration.admissionregistration.k8s.io iomesh-validating-webhook-configuration": {"webhooks[0].clientConfig.caBundle": true},
		"StatefulSet.apps iomesh-system/iomesh-chunk":                                                         {"metadata.annotations.token": true},
		// The new object is not in the deployed release: nothing to pin it to.
		"Secret iomesh-system/iomesh-new": {"data.password": true},
	}
}

func docs(t *testing.T, m string) map[string]string {
	t.Helper()
	cs, err := chunks(m)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range cs {
		out[c.obj["kind"].(string)+"/"+c.obj["metadata"].(map[string]interface{})["name"].(string)] = c.text
	}
	return out
}

func TestApplyKeepsDeployedValues(t *testing.T) {
	out, err := PostRenderer{Deployed: deployed, Fields: fields()}.Run(bytes.NewBufferString(rendered))
	if err != nil {
		t.Fatal(err)
	}
	got, was := docs(t, out.String()), docs(t, deployed)
	// Objects that equal their deployed form after pinning are written byte for byte as deployed.
	for _, k := range []string{"Secret/iomesh-webhook-cert", "ValidatingWebhookConfiguration/iomesh-validating-webhook-configuration"} {
		if got[k] != was[k] {
			t.Errorf("%s not byte for byte as deployed:\n got %q\nwant %q", k, got[k], was[k])
		}
	}
	// The StatefulSet changes its replicas: its own text, with the token pinned.
	sts := got["StatefulSet/iomesh-chunk"]
	if want := strings.Replace(docs(t, rendered)["StatefulSet/iomesh-chunk"], "NEWTOKEN", "OLDTOKEN", 1); sts != want {
		t.Errorf("StatefulSet not its own text with the token swapped:\n got %q\nwant %q", sts, want)
	}
	// A new object keeps its random field as rendered.
	if !strings.Contains(got["Secret/iomesh-new"], "password: RANDOM") {
		t.Errorf("new object changed:\n%s", got["Secret/iomesh-new"])
	}
	// Render order is kept.
	s := out.String()
	if strings.Index(s, "kind: StatefulSet") > strings.Index(s, "name: iomesh-new") {
		t.Error("documents were reordered")
	}
	for _, fresh := range []string{"NEWCA", "NEWCRT", "NEWKEY", "NEWTOKEN"} {
		if strings.Contains(s, fresh) {
			t.Errorf("%s survived pinning", fresh)
		}
	}
}

func TestApplyWithoutFieldsIsIdentity(t *testing.T) {
	out, err := Apply(rendered, deployed, nil)
	if err != nil || out != rendered {
		t.Fatalf("err %v; output differs from input", err)
	}
}

func TestApplyRewritesWhenTextCannotBeSwapped(t *testing.T) {
	// The deployed value is a number, and the rendered value occurs twice: the object is
	// written anew, under its comments, with the deployed value.
	dep := "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  seed: \"7\"\n  other: \"7\"\n  count: \"1\"\n"
	ren := "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  seed: \"9\"\n  other: \"9\"\n  count: \"2\"\n"
	out, err := Apply(ren, dep, Fields{"ConfigMap x": {"data.seed": true}})
	if err != nil {
		t.Fatal(err)
	}
	want := "---\n# Source: a.yaml\napiVersion: v1\ndata:\n  count: \"2\"\n  other: \"9\"\n  seed: \"7\"\nkind: ConfigMap\nmetadata:\n  name: x\n"
	if out != want {
		t.Fatalf("rewritten:\n got %q\nwant %q", out, want)
	}
}

// A swap in the text needs a string value that occurs once: an empty value, a value that is not
// a string and a value seen twice each send the object to be written anew.
func TestReplaceTextOnlySwapsUniqueStrings(t *testing.T) {
	mk := func(text string) chunk {
		c, err := chunks(text)
		if err != nil || len(c) != 1 {
			t.Fatalf("%v %d", err, len(c))
		}
		return c[0]
	}
	was := mk("kind: A\nv: old\nn: 1\ne: x\n").obj
	for name, tc := range map[string]struct {
		text, path string
		ok         bool
	}{
		"unique string":       {"kind: A\nv: new\n", "v", true},
		"seen twice":          {"kind: A\nv: new\nw: new\n", "v", false},
		"not a string now":    {"kind: A\nv: 5\n", "v", false},
		"not a string before": {"kind: A\nn: two\n", "n", false},
		"empty now":           {"kind: A\ne: \"\"\n", "e", false},
	} {
		t.Run(name, func(t *testing.T) {
			text, ok := replaceText(mk(tc.text), was, []string{tc.path})
			if ok != tc.ok {
				t.Errorf("%s: ok = %v, want %v (%q)", name, ok, tc.ok, text)
			}
			if ok && text != "kind: A\nv: old\n" {
				t.Errorf("%s: %q", name, text)
			}
		})
	}
}

func TestHeaderIsSeparatorsAndComments(t *testing.T) {
	for in, want := range map[string]string{
		"---\n# Source: a.yaml\n\n# more\nkind: A\n# after\n": "---\n# Source: a.yaml\n\n# more\n",
		"kind: A\n":                        "",
		"  ---  \n  # indented\nkind: A\n": "  ---  \n  # indented\n",
	} {
		if got := header(in); got != want {
			t.Errorf("header(%q) = %q, want %q", in, got, want)
		}
	}
}

// Documents without an object (comments only) neither pin nor are pinned to.
func TestEmptyDocumentsPassThrough(t *testing.T) {
	dep := "---\n# nothing here\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  seed: a\n"
	ren := "---\n# nothing here either\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  seed: b\n"
	out, err := Apply(ren, dep, Fields{"ConfigMap x": {"data.seed": true}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "---\n# nothing here either\n" + dep[len("---\n# nothing here\n"):]; out != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
}

func TestApplyRefusesBadYAML(t *testing.T) {
	if _, err := Apply("---\nkind: [\n", deployed, fields()); err == nil {
		t.Fatal("a broken render was accepted")
	}
	if _, err := Apply(rendered, "---\nkind: [\n", fields()); err == nil || !strings.Contains(err.Error(), "deployed manifest") {
		t.Fatalf("err = %v", err)
	}
}

func TestFieldsListing(t *testing.T) {
	f := fields()
	keys := f.Keys()
	if len(keys) != 4 || keys[0] != "Secret iomesh-system/iomesh-new" {
		t.Fatalf("keys %q", keys)
	}
	if p := f.Paths("Secret iomesh-system/iomesh-webhook-cert"); strings.Join(p, ",") != "data.ca.crt,data.tls.crt,data.tls.key" {
		t.Fatalf("paths %q", p)
	}
}
