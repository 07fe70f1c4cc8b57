package helmops

import (
	"errors"
	"fmt"
	"testing"

	"helm.sh/helm/v3/pkg/storage/driver"
)

func TestBusy(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		busy bool
	}{
		{"revision written by another upgrade", fmt.Errorf("create: %w", driver.ErrReleaseExists), true},
		{"helm's pending refusal", errors.New("UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"), true},
		{"ownership conflict is not busy", errors.New(`rendered manifests contain a resource that already exists. Unable to continue with update: ConfigMap "x" in namespace "iomesh-system" exists and cannot be imported into the current release`), false},
		{"other failure", errors.New("timed out"), false},
		{"no error", nil, false},
	} {
		if got := Busy(tc.err); got != tc.busy {
			t.Errorf("%s: Busy = %v, want %v", tc.name, got, tc.busy)
		}
	}
}
