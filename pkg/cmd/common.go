// Package cmd holds the kubectl iomesh commands. Each command is an options struct with
// Complete, Validate and Run, as kubectl's own commands are; the rules live in other packages.
// Only main imports it (depguard).
package cmd

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"
	"helm.sh/helm/v4/pkg/action"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/buildinfo"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
)

// DefaultNamespace and DefaultRelease are where the IOMesh docs install IOMesh.
const (
	DefaultNamespace = "iomesh-system"
	DefaultRelease   = "iomesh"
)

// Common is what every command shares: the kubeconfig flags, the release and the streams.
type Common struct {
	ConfigFlags *genericclioptions.ConfigFlags
	Release     string
	genericiooptions.IOStreams

	// ChartFinder locates charts; nil uses the Helm environment (tests inject their own).
	ChartFinder *helmops.Finder
	// Exec runs commands in pods; nil execs through the API server (tests inject their own).
	Exec inventory.Executor

	// Now is the clock (fixed in tests).
	Now func() time.Time

	restConfig *rest.Config
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	helm       *action.Configuration
	helmFor    func(namespace string) (*action.Configuration, error)
}

// NewCommon returns the shared options with the IOMesh defaults.
func NewCommon(streams genericiooptions.IOStreams) *Common {
	c := &Common{
		ConfigFlags: genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag().WithDiscoveryBurst(300).WithDiscoveryQPS(50),
		Release:     DefaultRelease,
		IOStreams:   streams,
		Now:         time.Now,
	}
	ns := DefaultNamespace
	c.ConfigFlags.Namespace = &ns
	c.ConfigFlags.WrapConfigFn = c.wrapConfig
	return c
}

func (c *Common) wrapConfig(cfg *rest.Config) *rest.Config {
	cfg.UserAgent = buildinfo.Get().UserAgent()
	return cfg
}

// Namespace is the namespace of the release.
func (c *Common) Namespace() string {
	if c.ConfigFlags.Namespace != nil && *c.ConfigFlags.Namespace != "" {
		return *c.ConfigFlags.Namespace
	}
	return DefaultNamespace
}

// ContextName is the kubeconfig context in use, or "" when it cannot be told.
func (c *Common) ContextName() string {
	if c.ConfigFlags.Context != nil && *c.ConfigFlags.Context != "" {
		return *c.ConfigFlags.Context
	}
	raw, err := c.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}

// RESTConfig loads the client configuration once.
func (c *Common) RESTConfig() (*rest.Config, error) {
	if c.restConfig != nil {
		return c.restConfig, nil
	}
	loader := c.ConfigFlags.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w (check --kubeconfig and $KUBECONFIG)", err)
	}
	noServerFlag := c.ConfigFlags.APIServer == nil || *c.ConfigFlags.APIServer == ""
	if len(raw.Clusters) == 0 && noServerFlag {
		// client-go would fall back to http://localhost:8080; say what is really wrong.
		where := "$KUBECONFIG or ~/.kube/config"
		if c.ConfigFlags.KubeConfig != nil && *c.ConfigFlags.KubeConfig != "" {
			where = *c.ConfigFlags.KubeConfig
		} else if v := os.Getenv("KUBECONFIG"); v != "" {
			where = v
		}
		return nil, fmt.Errorf("no cluster in the kubeconfig (%s): point --kubeconfig or $KUBECONFIG at a kubeconfig for the cluster running IOMesh", where)
	}
	cfg, err := c.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w (check --kubeconfig, $KUBECONFIG and --context)", err)
	}
	c.restConfig = cfg
	return cfg, nil
}

// Kube returns the typed client.
func (c *Common) Kube() (kubernetes.Interface, error) {
	if c.kube != nil {
		return c.kube, nil
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	// Built-in types in protobuf: a cluster-wide pod list decodes several times faster and
	// with a fraction of the garbage JSON makes. IOMesh's own types go through the dynamic
	// client, in JSON.
	pb := rest.CopyConfig(cfg)
	pb.ContentType = runtime.ContentTypeProtobuf
	pb.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	k, err := kubernetes.NewForConfig(pb)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	c.kube = k
	return k, nil
}

// Dynamic returns the dynamic client (for the IOMeshCluster resource).
func (c *Common) Dynamic() (dynamic.Interface, error) {
	if c.dyn != nil {
		return c.dyn, nil
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the dynamic client: %w", err)
	}
	c.dyn = d
	return d, nil
}

// Helm returns the Helm action configuration for the release namespace.
func (c *Common) Helm() (*action.Configuration, error) {
	if c.helm != nil {
		return c.helm, nil
	}
	if _, err := c.RESTConfig(); err != nil {
		return nil, err
	}
	h, err := helmops.NewConfiguration(c.ConfigFlags, c.Namespace(), os.Getenv("HELM_DRIVER"), helmLog())
	if err != nil {
		return nil, err
	}
	c.helm = h
	return h, nil
}

// HelmFor is the Helm configuration of another namespace (status -A); the command's own
// namespace reuses Helm().
func (c *Common) HelmFor(namespace string) (*action.Configuration, error) {
	if namespace == c.Namespace() {
		return c.Helm()
	}
	if c.helmFor != nil {
		return c.helmFor(namespace)
	}
	return helmops.NewConfiguration(c.ConfigFlags, namespace, os.Getenv("HELM_DRIVER"), helmLog())
}

// helmLog sends Helm's own log to klog at -v=4, as Helm's debug output.
func helmLog() slog.Handler { return logr.ToSlogHandler(klog.Background().V(4)) }

// Reader returns the inventory reader for the release.
func (c *Common) Reader() (inventory.Reader, error) {
	k, err := c.Kube()
	if err != nil {
		return inventory.Reader{}, err
	}
	d, err := c.Dynamic()
	if err != nil {
		return inventory.Reader{}, err
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return inventory.Reader{}, err
	}
	var x inventory.Executor = inventory.RemoteExecutor{Config: cfg, Kube: k}
	if c.Exec != nil {
		x = c.Exec
	}
	return inventory.Reader{Kube: k, Dynamic: d, Namespace: c.Namespace(), Release: c.Release, Exec: x}, nil
}
