// This file explains an upgrade that failed in the chart's hooks: what of the revision is
// live, what its failed record means for the next run, and what finishes the change.

package helmops

import (
	"fmt"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// HookError is an upgrade that failed in one of the chart's upgrade hooks. Helm records the
// revision as failed either way; after a post-upgrade hook every object of the revision had
// been applied (and its counts are live), after a pre-upgrade hook none had.
type HookError struct {
	// Event is release.HookPreUpgrade or release.HookPostUpgrade.
	Event release.HookEvent
	// Hook is the hook that failed ("Job name"), "" when Helm did not record which.
	Hook string
	// Release, Namespace and Revision name the failed revision; Deployed is the revision Helm
	// still records as deployed (0 when none).
	Release, Namespace string
	Revision, Deployed int
	// Counts are the failed revision's chunk and meta counts (nil when unreadable).
	Counts *values.Replicas
	Err    error
}

func (e *HookError) Unwrap() error { return e.Err }

// Applied reports whether every object of the revision was applied before the hook failed.
func (e *HookError) Applied() bool { return e.Event == release.HookPostUpgrade }

func (e *HookError) Error() string {
	hook := "one of the chart's " + string(e.Event) + " hooks"
	if e.Hook != "" {
		hook = "the chart's " + string(e.Event) + " hook " + e.Hook
	}
	base := "the last deployed revision"
	if e.Deployed > 0 {
		base = fmt.Sprintf("revision %d, the last deployed one", e.Deployed)
	}
	why := "the error above says why it did not; `kubectl iomesh preflight` checks the permissions a scale needs"
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString("\n")
	if !e.Applied() {
		fmt.Fprintf(&b, "%s failed before Helm applied any object of revision %d, so the counts are those of %s; Helm records revision %d as failed, and a later run plans from %s again. Once the hook can run (%s), the same command finishes the scale.",
			upper(hook), e.Revision, base, e.Revision, base, why)
		return b.String()
	}
	counts := "its counts are live"
	if e.Counts != nil {
		counts = fmt.Sprintf("its counts (chunk %d, meta %d) are live", e.Counts.Chunk, e.Counts.Meta)
	}
	fmt.Fprintf(&b, "Helm applied every object of revision %d before %s failed, so %s, though Helm records revision %d as failed. ", e.Revision, hook, counts, e.Revision)
	fmt.Fprintf(&b, "A later run plans from %s, not from the failed one: finding these counts already live, the same command writes no new revision and waits for the pods, which finishes the scale; a scale to other counts would start from that revision's counts, which are no longer live. ", base)
	fmt.Fprintf(&b, "To record what is live, run `helm rollback %s %d -n %s`: it applies revision %d's objects again (the live ones) as a new, deployed revision, and runs no upgrade hook; the next upgrade runs the hooks again (once they can run: %s). A rollback to %s would set that revision's counts again.", e.Release, e.Revision, e.Namespace, e.Revision, why, base)
	return b.String()
}

func upper(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// hookFailure is err explained as a HookError when the upgrade of rel failed in an upgrade
// hook; err itself otherwise.
func hookFailure(cfg *action.Configuration, rel *release.Release, err error) error {
	if rel == nil || err == nil {
		return err
	}
	e := &HookError{Release: rel.Name, Namespace: rel.Namespace, Revision: rel.Version, Err: err}
	// Helm marks the hook that failed; its error text says which phase failed when the hook
	// failed before it could be marked (its old copy could not be deleted).
	for _, h := range rel.Hooks {
		if h.LastRun.Phase != release.HookPhaseFailed {
			continue
		}
		for _, ev := range h.Events {
			if ev == release.HookPreUpgrade || ev == release.HookPostUpgrade {
				e.Event, e.Hook = ev, h.Kind+" "+h.Name
			}
		}
	}
	if e.Event == "" {
		switch msg := err.Error(); {
		case strings.Contains(msg, "post-upgrade hooks failed"):
			e.Event = release.HookPostUpgrade
		case strings.Contains(msg, "pre-upgrade hooks failed"):
			e.Event = release.HookPreUpgrade
		default:
			return err
		}
	}
	if info, derr := Describe(rel); derr == nil {
		if r, rerr := values.ReadReplicas(info.Effective); rerr == nil {
			e.Counts = &r
		}
	}
	if d, derr := cfg.Releases.Deployed(rel.Name); derr == nil {
		if dep, cerr := asV1(d); cerr == nil && dep != nil {
			e.Deployed = dep.Version
		}
	}
	return e
}
