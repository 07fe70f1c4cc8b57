package cmd

import (
	"os"
	"strings"
	"testing"

	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

func TestCompleteRelease(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1, Values: values.Map{}}, {Revision: 2, Values: values.Map{}}})
	out, _, err := runCmd(t, c, "__complete", "status", "--release", "io")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "iomesh" || len(lines) != 2 || !strings.HasPrefix(lines[1], ":") {
		t.Fatalf("completion of --release: %q", out)
	}
	out, _, err = runCmd(t, c, "__complete", "status", "--release", "zz")
	if err != nil || strings.Contains(out, "iomesh") {
		t.Fatalf("prefix not honoured: %q %v", out, err)
	}
}

func TestCompletionScripts(t *testing.T) {
	c := tf.NewClients(t, nil)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(sh, func(t *testing.T) {
			out, _, err := runCmd(t, c, "completion", sh)
			if err != nil || len(out) < 100 {
				t.Fatalf("completion %s: %v (%d bytes)", sh, err, len(out))
			}
		})
	}
}

func TestCompleteFlagValues(t *testing.T) {
	dir := t.TempDir()
	kc := dir + "/config"
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: prod-east, cluster: {server: "https://127.0.0.1:1"}}, {name: lab, cluster: {server: "https://127.0.0.1:2"}}]
users: [{name: admin-east, user: {}}, {name: viewer, user: {}}]
contexts: [{name: prod, context: {cluster: prod-east, user: admin-east}}, {name: lab, context: {cluster: lab, user: viewer}}]
current-context: lab
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := tf.NewClients(t, nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--kubeconfig", kc, "--context", "p"}, "prod"},
		{[]string{"status", "--kubeconfig", kc, "--cluster", "prod"}, "prod-east"},
		{[]string{"status", "--kubeconfig", kc, "--user", "v"}, "viewer"},
		{[]string{"status", "-o", "ya"}, "yaml"},
		{[]string{"preflight", "--color", "ne"}, "never"},
		{[]string{"preflight", "--skip-check", "disks."}, "disks.new-chunk-nodes"},
		{[]string{"scale", "--skip-check", "render"}, "render.identical"},
		{[]string{"scale", "--wait-for", ""}, "pods\nstorage"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, _, err := runCmd(t, c, append([]string{"__complete"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(out[:strings.LastIndex(strings.TrimSpace(out), "\n")+1])
			if got != tc.want || !strings.Contains(out, ":4") {
				t.Errorf("%v: %q, want %q and no file completion", tc.args, out, tc.want)
			}
		})
	}
}

func TestIsCompletionHelper(t *testing.T) {
	for argv0, want := range map[string]bool{
		"/home/u/.krew/bin/kubectl_complete-iomesh": true, "kubectl_complete-iomesh.exe": true,
		"kubectl-iomesh": false, "/usr/bin/kubectl_complete-iomeshx": false,
	} {
		t.Run(argv0, func(t *testing.T) {
			if IsCompletionHelper(argv0) != want {
				t.Errorf("IsCompletionHelper(%q) = %v", argv0, !want)
			}
		})
	}
}
