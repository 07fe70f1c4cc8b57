//go:build e2e

package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestPluginDiscovery(t *testing.T) {
	r := run(t, nil, "kubectl", "plugin", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "kubectl-iomesh") {
		t.Fatalf("kubectl plugin list does not show kubectl-iomesh:\n%s", r)
	}
	r = plugin(t, "status", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "kubectl iomesh status") {
		t.Fatalf("help does not read `kubectl iomesh status`:\n%s", r)
	}
}

func TestStatusFreshInstall(t *testing.T) {
	freshInstall(t, install{nodes: 3, edition: "enterprise", license: enterpriseLicense(6)})

	r := plugin(t, "status")
	if r.code != 0 {
		t.Fatalf("status failed:\n%s", r)
	}
	mustContain(t, r, "Release:   iomesh, revision 1, deployed", "Chart:     iomesh-v1.0.1",
		"Edition:   Enterprise (from release values iomesh.edition)", "up to 6 chunk pods", "Chunk:     3/3 ready", "Meta:      3/3 ready")
	// The pod table has kubectl's shape, and the same pods kubectl shows.
	row := regexp.MustCompile(`(?m)^(iomesh-(chunk|meta)-\d)\s+(\d/\d)\s+Running\s+0\s+\S+$`)
	rows := row.FindAllStringSubmatch(r.stdout, -1)
	if len(rows) != 6 {
		t.Fatalf("want 6 chunk/meta rows, got %d:\n%s", len(rows), r)
	}
	for _, m := range rows {
		want := "3/3"
		if m[2] == "meta" {
			want = "2/2"
		}
		if m[3] != want {
			t.Fatalf("%s READY %s, want %s", m[1], m[3], want)
		}
	}
	kubectl := run(t, nil, "kubectl", "get", "pod", "-n", ns, "--no-headers", "-o", "custom-columns=NAME:.metadata.name")
	for _, m := range rows {
		if !strings.Contains(kubectl.stdout, m[1]) {
			t.Fatalf("%s is not a pod kubectl knows:\n%s", m[1], kubectl.stdout)
		}
	}

	j := plugin(t, "status", "-o", "json")
	if j.code != 0 {
		t.Fatalf("status -o json failed:\n%s", j)
	}
	var doc struct {
		Kind    string
		Release struct {
			Revision     int
			ChartVersion string
		}
		License struct{ MaxChunkNum int }
		Chunk   struct {
			Ready   int
			Desired int
		}
	}
	if err := json.Unmarshal([]byte(j.stdout), &doc); err != nil {
		t.Fatalf("status -o json is not one JSON document: %v\n%s", err, j)
	}
	if doc.Kind != "Status" || doc.Release.Revision != 1 || doc.Release.ChartVersion != "v1.0.1" || doc.License.MaxChunkNum != 6 || doc.Chunk.Ready != 3 || doc.Chunk.Desired != 3 {
		t.Fatalf("unexpected document: %+v", doc)
	}

	v := plugin(t, "version")
	if v.code != 0 || !strings.Contains(v.stdout, "Kubernetes Version: v1.36.3") || !strings.Contains(v.stdout, "IOMesh Chart: iomesh-v1.0.1 (app v5.3.0-rc13)") {
		t.Fatalf("version: %s", v)
	}

	jp := plugin(t, "status", "-o", "jsonpath={.edition.edition}")
	if jp.code != 0 || jp.stdout != "enterprise" {
		t.Fatalf("jsonpath: %s", jp)
	}
}

func TestStatusUnknownRelease(t *testing.T) {
	r := plugin(t, "status", "--release", "nope")
	if r.code != 1 {
		t.Fatalf("want exit 1, got:\n%s", r)
	}
	mustContain(t, r, `Helm release "nope" not found in namespace "iomesh-system"`, "helm list -A")
}

func TestCompletion(t *testing.T) {
	freshInstall(t, install{nodes: 3, edition: "enterprise", license: enterpriseLicense(6)})
	// kubectl's own completion of plugin arguments runs kubectl_complete-iomesh.
	r := run(t, nil, "kubectl_complete-iomesh", "status", "--release", "")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "iomesh\n") {
		t.Fatalf("completing --release: %s", r)
	}
	r = run(t, nil, "kubectl", "__complete", "iomesh", "status", "-n", "iomesh-")
	if r.code != 0 || !strings.Contains(r.stdout, "iomesh-system") {
		t.Fatalf("kubectl completing the plugin's -n: %s", r)
	}
	// Through kubectl, as bash asks it: a subcommand, a kubeconfig context, a check ID.
	for _, tc := range []struct{ args, want string }{
		{"sta", "status"},
		{"status --context admin@", "admin@iomesh-test"},
		{"preflight --skip-check cluster.t", "cluster.tasks-idle"},
	} {
		r = run(t, nil, "kubectl", append([]string{"__complete", "iomesh"}, strings.Split(tc.args, " ")...)...)
		// A candidate may carry its description after a tab.
		if r.code != 0 || !strings.HasPrefix(r.stdout, tc.want+"\n") && !strings.HasPrefix(r.stdout, tc.want+"\t") {
			t.Fatalf("kubectl __complete iomesh %s: %s", tc.args, r)
		}
	}
	// Real bash completion: kubectl's bash script (with the bash-completion package) completing
	// `kubectl iomesh ...` at a TAB, which goes through kubectl_complete-iomesh.
	for _, tc := range []struct{ line, want string }{
		{"kubectl iomesh sta", "status"},
		{"kubectl iomesh status --context admin@", "admin@iomesh-test"},
		{"kubectl iomesh preflight --skip-check cluster.t", "cluster.tasks-idle"},
	} {
		script := `source /usr/share/bash-completion/bash_completion && source <(kubectl completion bash) &&
COMP_LINE="$LINE"; read -ra COMP_WORDS <<< "$LINE"; COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_POINT=${#COMP_LINE}
__start_kubectl 2>/dev/null; printf '%s\n' "${COMPREPLY[@]}"`
		r = run(t, []string{"LINE=" + tc.line}, "bash", "-c", script)
		if r.code != 0 || strings.TrimSpace(r.stdout) != tc.want {
			t.Fatalf("bash completing %q: want %q, got %s", tc.line, tc.want, r)
		}
	}
	r = run(t, nil, "bash", "-c", "source <(kubectl iomesh completion bash) && type __start_kubectl-iomesh >/dev/null && echo loaded")
	if r.code != 0 || !strings.Contains(r.stdout, "loaded") {
		t.Fatalf("bash completion script: %s", r)
	}
}
