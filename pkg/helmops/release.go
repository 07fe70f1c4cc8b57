// This file reads the IOMesh Helm release through the Helm SDK's Secret storage, the
// same records `helm get` and `helm history` read.

package helmops

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// NewConfiguration prepares a Helm action configuration for namespace over the given
// kubeconfig flags, with the release storage driver the helm CLI would use ($HELM_DRIVER:
// secret by default, configmap, memory or sql). Nothing is sent to the API server until a
// release is read.
func NewConfiguration(getter genericclioptions.RESTClientGetter, namespace, storageDriver string, debug func(string, ...interface{})) (*action.Configuration, error) {
	if debug == nil {
		debug = func(string, ...interface{}) {}
	}
	switch storageDriver {
	case "", "secret", "secrets", "configmap", "configmaps", "memory", "sql":
	default:
		return nil, fmt.Errorf("HELM_DRIVER=%q is not a Helm storage driver: use secret (the default), configmap, memory or sql", storageDriver)
	}
	cfg := new(action.Configuration)
	if err := cfg.Init(getter, namespace, storageDriver, debug); err != nil {
		return nil, fmt.Errorf("preparing Helm for namespace %q: %w", namespace, err)
	}
	return cfg, nil
}

// ReleaseNotFoundError says a release does not exist in a namespace.
type ReleaseNotFoundError struct{ Name, Namespace string }

func (e *ReleaseNotFoundError) Error() string {
	return fmt.Sprintf("Helm release %q not found in namespace %q: list the releases with `helm list -A`, then pass --release NAME and -n NAMESPACE", e.Name, e.Namespace)
}

// Latest returns the newest revision of the release, whatever its status.
func Latest(cfg *action.Configuration, name, namespace string) (*release.Release, error) {
	rel, err := cfg.Releases.Last(name)
	if err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return nil, &ReleaseNotFoundError{Name: name, Namespace: namespace}
		}
		return nil, inventory.Explain(err, "read", fmt.Sprintf("Helm release %q (its Secrets) in namespace %s", name, namespace))
	}
	return rel, nil
}

// History returns every stored revision, oldest first.
func History(cfg *action.Configuration, name, namespace string) ([]*release.Release, error) {
	hist, err := cfg.Releases.History(name)
	if err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return nil, &ReleaseNotFoundError{Name: name, Namespace: namespace}
		}
		return nil, inventory.Explain(err, "read", fmt.Sprintf("the history of Helm release %q (its Secrets) in namespace %s", name, namespace))
	}
	sort.Slice(hist, func(i, j int) bool { return hist[i].Version < hist[j].Version })
	return hist, nil
}

// Info is what the tool needs to know about a release.
type Info struct {
	Name         string     `json:"name"`
	Namespace    string     `json:"namespace"`
	Revision     int        `json:"revision"`
	Status       string     `json:"status"`
	Chart        string     `json:"chart"`
	ChartVersion string     `json:"chartVersion"`
	AppVersion   string     `json:"appVersion,omitempty"`
	Updated      time.Time  `json:"updated,omitempty"`
	Description  string     `json:"description,omitempty"`
	UserValues   values.Map `json:"-"`
	Effective    values.Map `json:"-"`
}

// Describe reads a release record into Info, coalescing the chart defaults into the values.
func Describe(rel *release.Release) (Info, error) {
	info := Info{
		Name:       rel.Name,
		Namespace:  rel.Namespace,
		Revision:   rel.Version,
		UserValues: rel.Config,
	}
	if info.UserValues == nil {
		info.UserValues = values.Map{}
	}
	if rel.Info != nil {
		info.Status = rel.Info.Status.String()
		info.Updated = rel.Info.LastDeployed.Time
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

// Pending reports whether an operation on the release is still in flight (or was abandoned).
func Pending(status string) bool {
	s := release.Status(status)
	return s == release.StatusPendingInstall || s == release.StatusPendingUpgrade || s == release.StatusPendingRollback
}

// LastGood is the newest revision before the last one in hist (oldest first) that was deployed
// or superseded: what `helm rollback` would return to. 0 when there is none.
func LastGood(hist []*release.Release) int {
	for i := len(hist) - 2; i >= 0; i-- {
		if s := hist[i].Info.Status; s == release.StatusDeployed || s == release.StatusSuperseded {
			return hist[i].Version
		}
	}
	return 0
}

// Failed reports a revision whose operation failed.
func Failed(status string) bool { return release.Status(status) == release.StatusFailed }
