// Command objectlist prints the objects of a rendered chart (`helm template` output on standard
// input) as pkg/access/testdata/official-*.txt lists them, one line each, sorted by kind and name:
//
//	apiVersion kind namespace name hook-events roleRef [grants]
//
// "-" stands for a field the object does not have. grants, only for an upgrade hook's Role or
// ClusterRole (Helm creates it anew on every upgrade), are its rules: group/resource:verb+verb[@name+name], ";" between them (a nonResourceURL stands
// as the resource, with no group). hack/official-objects.sh runs it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	RoleRef *rbacv1.RoleRef     `json:"roleRef"`
	Rules   []rbacv1.PolicyRule `json:"rules"`
}

func main() {
	in, err := io.ReadAll(bufio.NewReader(os.Stdin))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var lines []struct{ kind, name, line string }
	for _, doc := range splitDocs(string(in)) {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			fmt.Fprintf(os.Stderr, "%v in\n%s\n", err, doc)
			os.Exit(1)
		}
		if o.Kind == "" {
			continue
		}
		hook := dash(strings.Join(fields(o.Metadata.Annotations["helm.sh/hook"]), ","))
		role := "-"
		if o.RoleRef != nil {
			role = o.RoleRef.Kind + "/" + o.RoleRef.Name
		}
		line := strings.Join([]string{o.APIVersion, o.Kind, dash(o.Metadata.Namespace), o.Metadata.Name, hook, role}, " ")
		if strings.Contains(hook, "upgrade") && (o.Kind == "Role" || o.Kind == "ClusterRole") {
			line += " " + dash(grants(o.Rules))
		}
		lines = append(lines, struct{ kind, name, line string }{o.Kind, o.Metadata.Name, line})
	}
	sort.SliceStable(lines, func(i, j int) bool {
		if lines[i].kind != lines[j].kind {
			return lines[i].kind < lines[j].kind
		}
		return lines[i].name < lines[j].name
	})
	for _, l := range lines {
		fmt.Println(l.line)
	}
}

// grants writes rules as group/resource:verb+verb[@name+name], ";" between them.
func grants(rules []rbacv1.PolicyRule) string {
	var out []string
	for _, r := range rules {
		verbs := strings.Join(r.Verbs, "+")
		names := ""
		if len(r.ResourceNames) > 0 {
			names = "@" + strings.Join(r.ResourceNames, "+")
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				out = append(out, g+"/"+res+":"+verbs+names)
			}
		}
		for _, u := range r.NonResourceURLs {
			out = append(out, u+":"+verbs)
		}
	}
	return strings.Join(out, ";")
}

// fields splits a comma-separated annotation, as Helm reads helm.sh/hook.
func fields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// splitDocs splits a YAML stream at its "---" lines.
func splitDocs(s string) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " ") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line + "\n")
	}
	return append(docs, cur.String())
}
