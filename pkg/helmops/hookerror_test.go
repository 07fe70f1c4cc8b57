package helmops

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// hookChart renders the counts into a ConfigMap and carries one hook Job for event.
func hookChart(event string) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{Name: "iomesh", Version: "v1.0.1", APIVersion: "v2"},
		Values:   map[string]interface{}{"iomesh": map[string]interface{}{"chunk": map[string]interface{}{"replicaCount": 3}, "meta": map[string]interface{}{"replicaCount": 3}}},
		Templates: []*common.File{
			{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: counts\ndata:\n  chunk: \"{{ .Values.iomesh.chunk.replicaCount }}\"\n")},
			{Name: "templates/hook.yaml", Data: []byte("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: zk-hook\n  annotations:\n    helm.sh/hook: " + event + "\n    helm.sh/hook-delete-policy: before-hook-creation\n")},
		},
	}
}

// upgradeWith upgrades revision 1 (deployed, chunk 3) to chunk 6 through kube.
func upgradeWith(t *testing.T, ch *chart.Chart, kube *kubefake.FailingKubeClient) (*release.Release, error) {
	t.Helper()
	mem := driver.NewMemory()
	mem.SetNamespace("iomesh-system")
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	cfg.Releases = storage.Init(mem)
	cfg.KubeClient = kube
	cfg.Capabilities = common.DefaultCapabilities
	deployed := &release.Release{Name: "iomesh", Namespace: "iomesh-system", Version: 1, Chart: ch, Config: map[string]interface{}{},
		Info: &release.Info{Status: rcommon.StatusDeployed}}
	if err := cfg.Releases.Create(deployed); err != nil {
		t.Fatal(err)
	}
	vals := values.Map{"iomesh": map[string]interface{}{"chunk": map[string]interface{}{"replicaCount": 6}}}
	return Upgrade(context.Background(), cfg, UpgradeRequest{Name: "iomesh", Namespace: "iomesh-system", Chart: ch, Values: vals})
}

// An upgrade that fails in its post-upgrade hook has applied every object: the error says the
// new counts are live, that the next run plans from the deployed revision, and what finishes.
func TestPostUpgradeHookFailure(t *testing.T) {
	forbidden := errors.New(`jobs "zk-hook" is forbidden: User "frank" cannot patch resource "jobs"`)
	for name, kube := range map[string]*kubefake.FailingKubeClient{
		"hook not created":     {PrintingKubeClient: kubefake.PrintingKubeClient{Out: &strings.Builder{}}, CreateError: forbidden},
		"hook did not succeed": {PrintingKubeClient: kubefake.PrintingKubeClient{Out: &strings.Builder{}}, WatchUntilReadyError: forbidden},
	} {
		t.Run(name, func(t *testing.T) {
			rel, err := upgradeWith(t, hookChart("post-upgrade"), kube)
			var he *HookError
			if !errors.As(err, &he) {
				t.Fatalf("not a hook error: %v", err)
			}
			if !errors.Is(err, forbidden) || rel == nil || rel.Info.Status != rcommon.StatusFailed || rel.Version != 2 {
				t.Fatalf("release %+v, error %v", rel, err)
			}
			if !he.Applied() || he.Event != release.HookPostUpgrade || he.Hook != "Job zk-hook" || he.Deployed != 1 || he.Revision != 2 || he.Counts == nil || he.Counts.Chunk != 6 || he.Counts.Meta != 3 {
				t.Fatalf("hook error %+v", he)
			}
			for _, want := range []string{
				"cannot patch resource", // Helm's own cause first
				"Helm applied every object of revision 2 before the chart's post-upgrade hook Job zk-hook failed",
				"its counts (chunk 6, meta 3) are live", "records revision 2 as failed",
				"A later run plans from revision 1, the last deployed one, not from the failed one",
				"the same command writes no new revision and waits for the pods, which finishes the scale",
				"To record what is live, run `helm rollback iomesh 2 -n iomesh-system`",
				"the next upgrade runs the hooks again",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q:\n%s", want, err)
				}
			}
		})
	}
}

// A pre-upgrade hook fails before anything is applied: the old counts stand.
func TestPreUpgradeHookFailure(t *testing.T) {
	cause := errors.New("job failed: BackoffLimitExceeded")
	_, err := upgradeWith(t, hookChart("pre-upgrade"), &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: &strings.Builder{}}, WatchUntilReadyError: cause})
	var he *HookError
	if !errors.As(err, &he) || he.Applied() || he.Event != release.HookPreUpgrade || !errors.Is(err, cause) {
		t.Fatalf("error %v (%+v)", err, he)
	}
	for _, want := range []string{"failed before Helm applied any object of revision 2", "the counts are those of revision 1", "a later run plans from revision 1", "the same command finishes the scale"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%s", want, err)
		}
	}
	if strings.Contains(err.Error(), "are live") {
		t.Errorf("says counts are live that were never applied:\n%s", err)
	}
}

// A failure that is not a hook's (the objects themselves) is left as Helm says it.
func TestUpgradeFailureOutsideHooks(t *testing.T) {
	cause := errors.New("the server rejected the IOMeshCluster")
	_, err := upgradeWith(t, hookChart("post-upgrade"), &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: &strings.Builder{}}, UpdateError: cause})
	var he *HookError
	if err == nil || errors.As(err, &he) || !errors.Is(err, cause) {
		t.Fatalf("error %v", err)
	}
}
