package cmd

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/deploy/rbac"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
)

// RBACOptions are the options of `kubectl iomesh rbac`.
type RBACOptions struct {
	*Common
	Role                        string
	User, Group, ServiceAccount string
	subject                     rbacv1.Subject
}

// NewRBACCommand builds `kubectl iomesh rbac`.
func NewRBACCommand(common *Common) *cobra.Command {
	o := &RBACOptions{Common: common}
	names := make([]string, 0, len(access.Roles))
	for n := range access.Roles {
		names = append(names, n)
	}
	sort.Strings(names)
	c := &cobra.Command{
		Use:   "rbac [readonly|scale|direct] (--user U | --group G | --serviceaccount NS:NAME)",
		Short: "Print the least-privilege roles and bindings for this plugin, for kubectl apply",
		Long: `Print the least-privilege Roles, ClusterRoles and their bindings the plugin needs, bound to one
subject and placed in the IOMesh namespace (-n), ready for ` + "`kubectl apply -f -`" + `. Nothing is
changed in the cluster.

  readonly  status and preflight
  scale     scale a Helm-managed IOMesh (and everything readonly allows)
  direct    status, preflight and scale of an IOMeshCluster no Helm release manages`,
		Example: `  # Let alice inspect IOMesh
  kubectl iomesh rbac readonly --user alice | kubectl apply -f -

  # Let the operators group scale the release in iomesh-system
  kubectl iomesh rbac scale --group storage-ops | kubectl apply -f -

  # A service account scaling a directly managed cluster in iomesh-cluster-1
  kubectl iomesh rbac direct -n iomesh-cluster-1 --serviceaccount ci:scaler`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return exitcode.UsageError(fmt.Errorf("%q takes one role set (readonly, scale or direct), got %q", c.CommandPath(), args))
			}
			return nil
		},
		ValidArgs: names,
		RunE:      runE(o),
	}
	f := c.Flags()
	f.StringVar(&o.User, "user", "", "Bind the roles to this user")
	f.StringVar(&o.Group, "group", "", "Bind the roles to this group")
	f.StringVar(&o.ServiceAccount, "serviceaccount", "", "Bind the roles to this service account, as NAMESPACE:NAME")
	return c
}

// Complete takes the role set (readonly when none is named).
func (o *RBACOptions) Complete(c *cobra.Command) error {
	o.Role = "readonly"
	if args := c.Flags().Args(); len(args) == 1 {
		o.Role = args[0]
	}
	return nil
}

// Validate checks the role set and the subject.
func (o *RBACOptions) Validate() error {
	if _, ok := access.Roles[o.Role]; !ok {
		return exitcode.UsageError(fmt.Errorf("no role set %q: give readonly, scale or direct", o.Role))
	}
	s, err := access.ParseSubject(o.User, o.Group, o.ServiceAccount)
	if err != nil {
		return exitcode.UsageError(err)
	}
	o.subject = s
	return nil
}

// Run prints the manifest.
func (o *RBACOptions) Run(context.Context) error {
	b, err := access.Manifest(rbac.Files, o.Role, o.Namespace(), o.subject)
	if err != nil {
		return exitcode.UsageError(err)
	}
	if _, err := o.Out.Write(b); err != nil {
		return errors.Join(errors.New("writing the manifest"), err)
	}
	return nil
}
