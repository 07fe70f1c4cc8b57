package cmd

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// registerCompletions completes --release with the Helm releases in the namespace and
// -n/--namespace with the namespaces.
func registerCompletions(root *cobra.Command, common *Common) {
	_ = root.RegisterFlagCompletionFunc("release", func(c *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return complete(common.releaseNames, prefix)
	})
	_ = root.RegisterFlagCompletionFunc("namespace", func(c *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return complete(common.namespaceNames, prefix)
	})
	// The kubeconfig's own names, as kubectl completes them.
	for flag, names := range map[string]func(api *clientcmdapi.Config) []string{
		"context": func(c *clientcmdapi.Config) []string { return keys(c.Contexts) },
		"cluster": func(c *clientcmdapi.Config) []string { return keys(c.Clusters) },
		"user":    func(c *clientcmdapi.Config) []string { return keys(c.AuthInfos) },
	} {
		_ = root.RegisterFlagCompletionFunc(flag, func(c *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
			raw, err := common.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
			}
			return fixed(names(&raw))(c, nil, prefix)
		})
	}
}

// fixed completes from a fixed list of words.
func fixed(words []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, w := range words {
			if strings.HasPrefix(w, prefix) {
				out = append(out, w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func complete(list func(context.Context) ([]string, error), prefix string) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := list(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// releaseNames lists Helm release names in the namespace from their storage Secrets' labels,
// without decoding any release.
func (c *Common) releaseNames(ctx context.Context) ([]string, error) {
	kube, err := c.Kube()
	if err != nil {
		return nil, err
	}
	list, err := kube.CoreV1().Secrets(c.Namespace()).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, s := range list.Items {
		if n := s.Labels["name"]; n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

func (c *Common) namespaceNames(ctx context.Context) ([]string, error) {
	kube, err := c.Kube()
	if err != nil {
		return nil, err
	}
	list, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Items))
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	return names, nil
}

// CompletionHelper is the name kubectl runs to complete a plugin's arguments.
const CompletionHelper = "kubectl_complete-iomesh"

// IsCompletionHelper reports a binary started under the completion helper's name (a link to
// kubectl-iomesh), which then answers kubectl's completion requests.
func IsCompletionHelper(argv0 string) bool {
	name := filepath.Base(argv0)
	return strings.TrimSuffix(name, ".exe") == CompletionHelper
}
