package pin

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
	if !strings.Contains(sts, "replicas: 5") || !strings.Contains(sts, "token: OLDTOKEN") || strings.Contains(sts, "NEWTOKEN") {
		t.Errorf("StatefulSet:\n%s", sts)
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
	if !strings.HasPrefix(out, "---\n# Source: a.yaml\n") || !strings.Contains(out, `seed: "7"`) || !strings.Contains(out, `other: "9"`) || !strings.Contains(out, `count: "2"`) {
		t.Fatalf("rewritten:\n%s", out)
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
