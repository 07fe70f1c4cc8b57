package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/access"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
)

// RBACOptions are the options of `kubectl iomesh rbac`.
type RBACOptions struct {
	*Common
	Role                        string
	User, Group, ServiceAccount string
	// StorageNetworkExec adds the exec that preflight --exec-storage-network needs.
	StorageNetworkExec bool
	set                access.Set
	subject            rbacv1.Subject
}

// NewRBACCommand builds `kubectl iomesh rbac`.
func NewRBACCommand(common *Common) *cobra.Command {
	o := &RBACOptions{Common: common}
	names := make([]string, 0, len(access.Sets))
	for _, s := range access.Sets {
		names = append(names, s.Name)
	}
	c := &cobra.Command{
		Use:   "rbac [readonly|scale|direct] (--user U | --group G | --serviceaccount NS:NAME)",
		Short: "Print the least-privilege roles and bindings for this plugin, for kubectl apply",
		Long: `Print the least-privilege Roles, ClusterRoles and their bindings the plugin needs for one
IOMesh cluster (the release, -n and --release), bound to one subject, ready for
` + "`kubectl apply -f -`" + `. The roles name the release's own objects, read from the cluster, so
run it as someone who can read the release; nothing is changed in the cluster. Every rule says
why it is there. Bindings are named after the subject, so several people's coexist.

  readonly  status and preflight
  scale     scale a Helm-managed IOMesh, in and out (and everything readonly allows)
  direct    status, preflight and scale of an IOMeshCluster no Helm release manages`,
		Example: `  # Let alice inspect IOMesh
  kubectl iomesh rbac readonly --user alice | kubectl apply -f -

  # Let the operators group scale the release in iomesh-system
  kubectl iomesh rbac scale --group storage-ops | kubectl apply -f -

  # A service account scaling a directly managed cluster in iomesh-cluster-1
  kubectl iomesh rbac direct -n iomesh-cluster-1 --release iomesh-cluster-1 --serviceaccount ci:scaler`,
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
	f.BoolVar(&o.StorageNetworkExec, "exec-storage-network", false, "Add exec into every pod of the namespace, for `preflight --exec-storage-network` (privileged containers on the host's network among them: grant it only to whom you would give root on the nodes)")
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
	set, err := access.SetNamed(o.Role)
	if err != nil {
		return exitcode.UsageError(err)
	}
	o.set = set
	if o.StorageNetworkExec {
		o.set = access.WithStorageNetworkExec(set)
	}
	s, err := access.ParseSubject(o.User, o.Group, o.ServiceAccount)
	if err != nil {
		return exitcode.UsageError(err)
	}
	o.subject = s
	if errs := validation.IsDNS1123Label(o.Namespace()); len(errs) > 0 {
		return exitcode.UsageError(fmt.Errorf("namespace %q: %s", o.Namespace(), strings.Join(errs, "; ")))
	}
	return nil
}

// Run reads the release (or the IOMeshCluster) for the names its roles hold and prints them.
func (o *RBACOptions) Run(ctx context.Context) error {
	reader, err := o.Reader()
	if err != nil {
		return err
	}
	snap, err := o.Snapshot(ctx, snapshot.Options{})
	if err != nil {
		return fmt.Errorf("reading %s in namespace %s, whose objects the roles name (run this as someone who can read the release, such as a cluster admin): %w", o.Release, o.Namespace(), err)
	}
	switch {
	case snap.Direct && o.set.Name != "direct":
		return exitcode.UsageError(fmt.Errorf("no Helm release %s in namespace %s manages IOMeshCluster %s: for a cluster applied without Helm, print `kubectl iomesh rbac direct -n %s --release %s`", o.Release, o.Namespace(), o.Release, o.Namespace(), o.Release))
	case !snap.Direct && o.set.Name == "direct":
		return exitcode.UsageError(fmt.Errorf("Helm release %s in namespace %s manages this cluster: print `kubectl iomesh rbac scale` (or readonly) instead", o.Release, o.Namespace()))
	}
	scope := snap.RoleScope(reader)
	b, err := access.Manifest(o.set, scope, o.subject)
	if err != nil {
		return exitcode.UsageError(err)
	}
	if _, err := o.Out.Write(b); err != nil {
		return errors.Join(errors.New("writing the manifest"), err)
	}
	for _, note := range access.Notes(o.set, scope) {
		fmt.Fprintln(o.ErrOut, note)
	}
	for _, b := range access.SharedBindings(o.set.Name, o.Namespace()) {
		if _, err := reader.Kube.RbacV1().RoleBindings(b.Namespace).Get(ctx, b.Name, metav1.GetOptions{}); err == nil {
			fmt.Fprintf(o.ErrOut, "RoleBinding %s in namespace %s is the one binding earlier versions printed for everyone: applying it for a second person replaced the first one's subject. Once each person has their own binding (these are named %s), remove it: kubectl delete rolebinding %s -n %s\n",
				b.Name, b.Namespace, access.BindingName(o.set.Name, o.Namespace(), o.subject), b.Name, b.Namespace)
		}
	}
	return nil
}
