package cmd

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
