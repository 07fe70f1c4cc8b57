// This file reads the IOMesh Helm release through the Helm SDK's Secret storage, the
// same records `helm get` and `helm history` read.

package helmops

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	"helm.sh/helm/v4/pkg/action"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/kube"
	ri "helm.sh/helm/v4/pkg/release"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// NewConfiguration prepares a Helm action configuration for namespace over the given
// kubeconfig flags, with the release storage driver the helm CLI would use ($HELM_DRIVER:
// secret by default, configmap, memory or sql). Nothing is sent to the API server until a
// release is read.
func NewConfiguration(getter genericclioptions.RESTClientGetter, namespace, storageDriver string, log slog.Handler) (*action.Configuration, error) {
	if log == nil {
		log = slog.DiscardHandler
	}
	switch storageDriver {
	case "", "secret", "secrets", "configmap", "configmaps", "memory", "sql":
	default:
		return nil, fmt.Errorf("HELM_DRIVER=%q is not a Helm storage driver: use secret (the default), configmap, memory or sql", storageDriver)
	}
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(log))
	if err := cfg.Init(getter, namespace, storageDriver); err != nil {
		return nil, fmt.Errorf("preparing Helm for namespace %q: %w", namespace, err)
	}
	return cfg, nil
}

// FieldManager is the field manager of Helm's writes, as the Helm CLI names itself.
const FieldManager = "helm"

// UseHelmFieldManager makes Helm's writes carry FieldManager (the SDK otherwise names the
// binary): under server-side apply the user's next `helm upgrade` would else conflict on the
// counts this tool changed. Helm keeps it in a package variable, so the program sets it once
// at start, as the Helm CLI's main does.
func UseHelmFieldManager() { kube.ManagedFieldsManager = FieldManager }

// asV1 is the release record behind Helm's release interface; Helm stores only schema v1.
func asV1(r ri.Releaser) (*release.Release, error) {
	switch rel := r.(type) {
	case nil:
		return nil, nil
	case *release.Release:
		return rel, nil
	case release.Release:
		return &rel, nil
	default:
		return nil, fmt.Errorf("unsupported Helm release record %T: this tool reads release schema v1", r)
	}
}

// asV1List converts a list of releases, as asV1 does one.
func asV1List(rs []ri.Releaser) ([]*release.Release, error) {
	out := make([]*release.Release, 0, len(rs))
	for _, r := range rs {
		rel, err := asV1(r)
		if err != nil {
			return nil, err
		}
		if rel != nil {
			out = append(out, rel)
		}
	}
	return out, nil
}

// ReleaseNotFoundError says a release does not exist in a namespace.
type ReleaseNotFoundError struct{ Name, Namespace string }

func (e *ReleaseNotFoundError) Error() string {
	return fmt.Sprintf("Helm release %q not found in namespace %q: list the releases with `helm list -A`, then pass --release NAME and -n NAMESPACE", e.Name, e.Namespace)
}

// Latest returns the newest revision of the release, whatever its status.
func Latest(cfg *action.Configuration, name, namespace string) (*release.Release, error) {
	last, err := cfg.Releases.Last(name)
	if err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return nil, &ReleaseNotFoundError{Name: name, Namespace: namespace}
		}
		return nil, inventory.Explain(err, "read", fmt.Sprintf("Helm release %q (its Secrets) in namespace %s", name, namespace))
	}
	rel, err := asV1(last)
	if err == nil && rel == nil {
		return nil, &ReleaseNotFoundError{Name: name, Namespace: namespace}
	}
	return rel, err
}

// History returns every stored revision, oldest first.
func History(cfg *action.Configuration, name, namespace string) ([]*release.Release, error) {
	all, err := cfg.Releases.History(name)
	if err == nil && len(all) == 0 {
		err = driver.ErrReleaseNotFound
	}
	if err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return nil, &ReleaseNotFoundError{Name: name, Namespace: namespace}
		}
		return nil, inventory.Explain(err, "read", fmt.Sprintf("the history of Helm release %q (its Secrets) in namespace %s", name, namespace))
	}
	hist, err := asV1List(all)
	if err != nil {
		return nil, err
	}
	sort.Slice(hist, func(i, j int) bool { return hist[i].Version < hist[j].Version })
	return hist, nil
}

// Info is what the tool needs to know about a release.
type Info struct {
	Name         string      `json:"name"`
	Namespace    string      `json:"namespace"`
	Revision     int         `json:"revision"`
	Status       string      `json:"status"`
	Chart        string      `json:"chart"`
	ChartVersion string      `json:"chartVersion"`
	AppVersion   string      `json:"appVersion,omitempty"`
	Updated      time.Time   `json:"updated,omitempty"`
	Description  string      `json:"description,omitempty"`
	ApplyMethod  ApplyMethod `json:"applyMethod,omitempty"`
	UserValues   values.Map  `json:"-"`
	Effective    values.Map  `json:"-"`
}

// Describe reads a release record into Info, coalescing the chart defaults into the values.
func Describe(rel *release.Release) (Info, error) {
	info := Info{
		Name:        rel.Name,
		Namespace:   rel.Namespace,
		Revision:    rel.Version,
		UserValues:  rel.Config,
		ApplyMethod: ApplyMethodOf(rel),
	}
	if info.UserValues == nil {
		info.UserValues = values.Map{}
	}
	if rel.Info != nil {
		info.Status = rel.Info.Status.String()
		info.Updated = rel.Info.LastDeployed
		info.Description = rel.Info.Description
	}
	if rel.Chart == nil || rel.Chart.Metadata == nil {
		return info, fmt.Errorf("release %q revision %d has no chart metadata", rel.Name, rel.Version)
	}
	info.Chart = rel.Chart.Metadata.Name
	info.ChartVersion = rel.Chart.Metadata.Version
	info.AppVersion = rel.Chart.Metadata.AppVersion
	eff, err := chartutil.CoalesceValues(rel.Chart, values.DeepCopy(info.UserValues))
	if err != nil {
		return info, fmt.Errorf("combining the values of release %q with its chart's defaults: %w", rel.Name, err)
	}
	info.Effective = eff.AsMap()
	return info, nil
}

// ApplyMethod is how Helm applies a release's objects to the cluster.
type ApplyMethod string

const (
	// ClientSideApply is Helm 3's three-way merge patch, and what Helm 4 does for a release
	// that records no method.
	ClientSideApply ApplyMethod = "client-side"
	// ServerSideApply is Kubernetes' server-side apply, as Helm 4 installs new releases.
	ServerSideApply ApplyMethod = "server-side"
)

func (m ApplyMethod) String() string { return string(m) }

// ApplyMethodOf is the apply method a revision records; an upgrade keeps it. Helm 3 records
// none and applies client-side, as Helm 4 then does too.
func ApplyMethodOf(rel *release.Release) ApplyMethod {
	if rel != nil && release.ApplyMethod(rel.ApplyMethod) == release.ApplyMethodServerSideApply {
		return ServerSideApply
	}
	return ClientSideApply
}

// Pending reports whether an operation on the release is still in flight (or was abandoned).
func Pending(status string) bool {
	s := rcommon.Status(status)
	return s == rcommon.StatusPendingInstall || s == rcommon.StatusPendingUpgrade || s == rcommon.StatusPendingRollback
}

// LastGood is the newest revision before the last one in hist (oldest first) that was deployed
// or superseded: what `helm rollback` would return to. 0 when there is none.
func LastGood(hist []*release.Release) int {
	for i := len(hist) - 2; i >= 0; i-- {
		if s := hist[i].Info.Status; s == rcommon.StatusDeployed || s == rcommon.StatusSuperseded {
			return hist[i].Version
		}
	}
	return 0
}

// Failed reports a revision whose operation failed.
func Failed(status string) bool { return rcommon.Status(status) == rcommon.StatusFailed }
