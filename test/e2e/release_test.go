//go:build e2e

package e2e

import (
	"encoding/json"
	"reflect"
	"testing"

	rcommon "helm.sh/helm/v4/pkg/release/common"
)

// releaseState is what must not change when a command refuses: the revision and the values, as
// the real helm CLI reports them.
type releaseState struct {
	revision     int
	chartVersion string
	values       map[string]interface{}
}

func readRelease(t *testing.T) releaseState {
	t.Helper()
	var hist []struct {
		Revision int    `json:"revision"`
		Chart    string `json:"chart"`
	}
	if err := json.Unmarshal([]byte(mustHelm(t, "history", relName, "-n", ns, "-o", "json")), &hist); err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	var vals map[string]interface{}
	if err := json.Unmarshal([]byte(mustHelm(t, "get", "values", relName, "-n", ns, "-o", "json")), &vals); err != nil {
		t.Fatal(err)
	}
	return releaseState{revision: last.Revision, chartVersion: last.Chart, values: vals}
}

func assertUnchanged(t *testing.T, before releaseState) {
	t.Helper()
	after := readRelease(t)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("the release changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// markPending stores a new revision in pending-upgrade, as an interrupted `helm upgrade` leaves it.
func markPending(t *testing.T) {
	t.Helper()
	addRevision(t, rcommon.StatusPendingUpgrade, "Preparing upgrade")
}
