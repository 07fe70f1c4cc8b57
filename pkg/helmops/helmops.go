// Package helmops renders and upgrades the IOMesh release through the Helm SDK, with every
// choice made explicitly: the caller's full values (no reuse or reset), the given chart, no
// automatic rollback, the same history limit as the helm CLI.
package helmops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// MaxHistory is the number of revisions kept, as the helm CLI keeps by default.
const MaxHistory = 10

// Render renders the chart with vals as an upgrade of release would, against the live cluster
// (capabilities, lookups), without changing anything.
func Render(ctx context.Context, cfg *action.Configuration, name, namespace string, ch *chart.Chart, vals values.Map) (string, error) {
	u := action.NewUpgrade(cfg)
	u.Namespace = namespace
	u.DryRun = true
	u.DryRunOption = "server"
	u.MaxHistory = MaxHistory
	rel, err := u.RunWithContext(ctx, name, ch, values.DeepCopy(vals))
	if err != nil {
		return "", fmt.Errorf("rendering chart %s-%s: %w", ch.Metadata.Name, ch.Metadata.Version, err)
	}
	return rel.Manifest, nil
}

// ErrBusy says another Helm operation holds the release, or won the race to write the next
// revision.
var ErrBusy = errors.New("another Helm operation on this release is in progress")

// pendingText is the text of Helm's own "operation in progress" refusal, which Helm does not
// export as a value; everything else is matched by identity.
const pendingText = "another operation (install/upgrade/rollback) is in progress"

// Busy reports whether err says another operation holds the release: the storage driver's
// ErrReleaseExists (two upgrades wrote the same revision) or Helm's pending-operation refusal.
// A manifest object that already exists outside the release ("rendered manifests contain a
// resource that already exists") is an ownership conflict, not a busy release.
func Busy(err error) bool {
	return err != nil && (errors.Is(err, driver.ErrReleaseExists) || strings.Contains(err.Error(), pendingText))
}

// Upgrade applies vals with ch as a new revision. It is not cancelled by ctx: a half-applied
// upgrade is worse than a late one, so an interrupt only takes effect afterwards.
func Upgrade(ctx context.Context, cfg *action.Configuration, name, namespace string, ch *chart.Chart, vals values.Map, description string, timeout time.Duration) (*helmrelease.Release, error) {
	u := action.NewUpgrade(cfg)
	u.Namespace = namespace
	u.MaxHistory = MaxHistory
	u.Description = description
	u.ResetValues, u.ReuseValues, u.ResetThenReuseValues = false, false, false
	u.Wait, u.Atomic, u.CleanupOnFail = false, false, false
	u.Timeout = timeout
	rel, err := u.RunWithContext(context.WithoutCancel(ctx), name, ch, values.DeepCopy(vals))
	if err != nil {
		if Busy(err) {
			return nil, fmt.Errorf("%w: %s", ErrBusy, err.Error())
		}
		return rel, err
	}
	return rel, nil
}
