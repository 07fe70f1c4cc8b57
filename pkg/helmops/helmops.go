// Package helmops is this tool's Helm side, through the Helm SDK only: it reads the release and
// its history from Helm's storage, finds the exact chart a release was deployed from, renders
// and upgrades. It may not import the commands, the checks or the scale engine.
//
// This file renders and upgrades the IOMesh release through the Helm SDK, with every
// choice made explicitly: the caller's full values (no reuse or reset), the given chart, no
// automatic rollback, the same history limit as the helm CLI.
package helmops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	"helm.sh/helm/v4/pkg/postrenderer"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// MaxHistory is the number of revisions kept, as the helm CLI keeps by default.
const MaxHistory = 10

// Render renders the chart with vals as an upgrade of release would, without changing
// anything: against the live cluster (capabilities, lookups, conflicts) when server is true, as
// `helm upgrade --dry-run=server` does; else as `--dry-run=client` (no lookups).
func Render(ctx context.Context, cfg *action.Configuration, name, namespace string, ch *chart.Chart, vals values.Map, server bool) (string, error) {
	u := action.NewUpgrade(cfg)
	u.Namespace = namespace
	u.DryRunStrategy = action.DryRunClient
	if server {
		u.DryRunStrategy = action.DryRunServer
	}
	u.MaxHistory = MaxHistory
	// The real upgrade validates the manifest against the server's OpenAPI schema before it
	// changes anything; doing it here too would double the plan's cost for no new answer.
	u.DisableOpenAPIValidation = true
	out, err := u.RunWithContext(ctx, name, ch, values.DeepCopy(vals))
	if err != nil {
		return "", fmt.Errorf("rendering chart %s-%s: %w", ch.Metadata.Name, ch.Metadata.Version, err)
	}
	rel, err := asV1(out)
	if err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

// Capabilities learns the cluster's capabilities as Helm does before a render (the server's
// version and every API version discovery serves, fetched fresh) and keeps them in cfg, so that
// every render of one plan shares them and the renders need not wait for each other.
func Capabilities(cfg *action.Configuration) (*common.Capabilities, error) {
	if cfg.Capabilities != nil {
		return cfg.Capabilities, nil
	}
	if cfg.RESTClientGetter == nil {
		return nil, errors.New("no Kubernetes client to learn the cluster's capabilities from")
	}
	dc, err := cfg.RESTClientGetter.ToDiscoveryClient()
	if err != nil {
		return nil, fmt.Errorf("could not get the Kubernetes discovery client: %w", err)
	}
	dc.Invalidate()
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("could not get the server version from Kubernetes: %w", err)
	}
	// Helm's own reading: an API service that is registered but does not answer fails only its
	// group, not the whole set.
	versions, err := action.GetVersionSet(dc)
	if err != nil {
		return nil, err
	}
	cfg.Capabilities = &common.Capabilities{
		APIVersions: versions,
		KubeVersion: common.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor},
		HelmVersion: common.DefaultCapabilities.HelmVersion,
	}
	return cfg.Capabilities, nil
}

// UsesLookup reports whether any template of the chart or its subcharts calls `lookup`, whose
// result depends on the live cluster: such a chart is only rendered against the server.
func UsesLookup(ch *chart.Chart) bool {
	for _, t := range ch.Templates {
		if lookupCall.Match(t.Data) {
			return true
		}
	}
	for _, dep := range ch.Dependencies() {
		if UsesLookup(dep) {
			return true
		}
	}
	return false
}

var lookupCall = regexp.MustCompile(`\blookup\b`)

// RenderLocal renders the chart exactly as an upgrade of deployed would (the same release
// record, revision and capabilities), with no request to the API server: the release lives in
// Helm's memory driver and the Kubernetes client is Helm's printing fake. caps are the
// cluster's capabilities, as learned by a server render.
func RenderLocal(ctx context.Context, deployed *release.Release, caps *common.Capabilities, ch *chart.Chart, vals values.Map) (string, error) {
	mem := driver.NewMemory()
	mem.SetNamespace(deployed.Namespace)
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	cfg.Releases = storage.Init(mem)
	cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	cfg.Capabilities = caps
	rel := *deployed
	if err := cfg.Releases.Create(&rel); err != nil {
		return "", fmt.Errorf("preparing a local render: %w", err)
	}
	u := action.NewUpgrade(cfg)
	u.Namespace = deployed.Namespace
	u.DryRunStrategy = action.DryRunClient
	u.MaxHistory = MaxHistory
	out, err := u.RunWithContext(ctx, deployed.Name, ch, values.DeepCopy(vals))
	if err != nil {
		return "", fmt.Errorf("rendering chart %s-%s: %w", ch.Metadata.Name, ch.Metadata.Version, err)
	}
	rendered, err := asV1(out)
	if err != nil {
		return "", err
	}
	return rendered.Manifest, nil
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

// UpgradeRequest is one upgrade.
type UpgradeRequest struct {
	Name, Namespace string
	Chart           *chart.Chart
	// Values are the complete user-supplied values of the new revision.
	Values      values.Map
	Description string
	Timeout     time.Duration
	// PostRenderer rewrites the rendered manifest (nil: none).
	PostRenderer postrenderer.PostRenderer
}

// Upgrade applies the request as a new revision. It is not cancelled by ctx: a half-applied
// upgrade is worse than a late one, so an interrupt only takes effect afterwards. An upgrade
// that fails in the chart's upgrade hooks returns a *HookError, which says what is live.
func Upgrade(ctx context.Context, cfg *action.Configuration, r UpgradeRequest) (*release.Release, error) {
	u := action.NewUpgrade(cfg)
	u.Namespace = r.Namespace
	u.MaxHistory = MaxHistory
	u.Description = r.Description
	u.ResetValues, u.ReuseValues, u.ResetThenReuseValues = false, false, false
	u.RollbackOnFailure, u.CleanupOnFail = false, false
	u.WaitStrategy = kube.HookOnlyStrategy
	u.Timeout = r.Timeout
	// Keep the apply method the release was installed with, as either CLI's `helm upgrade` does.
	u.ServerSideApply = "auto"
	u.PostRenderer = r.PostRenderer
	// Helm 3 never sent hooks to a post-renderer; the pinned fields are in templates only.
	u.PostRenderStrategy = action.PostRenderStrategyNoHooks
	out, err := u.RunWithContext(context.WithoutCancel(ctx), r.Name, r.Chart, values.DeepCopy(r.Values))
	rel, convErr := asV1(out)
	if err != nil {
		if Busy(err) {
			return nil, fmt.Errorf("%w: %s", ErrBusy, err.Error())
		}
		return rel, hookFailure(cfg, rel, err)
	}
	return rel, convErr
}
