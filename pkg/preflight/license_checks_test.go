package preflight

import (
	"fmt"
	"testing"
)

func TestLicenceWithAnUnreadableDate(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.License.ExpirationDate = "next spring"
	expect(t, Run(in, nil, "v1"), "license.expiry", Warn, "next spring")
}

// license.expiry at the dates that matter: tf.Now is 2026-11-26 12:00 UTC and the warning window
// is ExpiryWarning days.
func TestLicenceExpiry(t *testing.T) {
	for _, tc := range []struct {
		name, date string
		want       Verdict
		reason     string
	}{
		{"inside the warning window", "2026-12-10", Warn, ""},
		{"expired", "2026-11-01", Fail, ""},
		{"far off", "2027-06-30", Pass, ""},
		{"perpetual", "", Pass, ""},
		{"later today: 0 whole days left, not yet expired", "2026-11-27", Warn, "in 0 days"},
		{"the last day of the warning", "2026-12-27", Warn, fmt.Sprintf("in %d days", ExpiryWarning)},
		{"the first day after the warning", "2026-12-28", Pass, fmt.Sprintf("in %d days", ExpiryWarning+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := cluster(5, 3, 3, 10)
			in.License.ExpirationDate = tc.date
			expect(t, Run(in, nil, "v1"), "license.expiry", tc.want, tc.reason)
		})
	}
	t.Run("no licence", func(t *testing.T) {
		in := cluster(5, 3, 3, 10)
		in.License, in.LicenseMissing = nil, "no licence"
		expect(t, Run(in, nil, "v1"), "license.expiry", Skipped, "no licence")
	})
}

// Without a licence the quota is skipped when nothing is asked of it, and a warning when a chunk
// count is.
func TestQuotaWithoutLicence(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.License, in.LicenseMissing = nil, "status.license is absent"
	expect(t, Run(in, nil, "v1"), "license.chunk-quota", Skipped, "no licence to read: status.license is absent")
	in.Target = Target{Chunk: ip(4)}
	expect(t, Run(in, nil, "v1"), "license.chunk-quota", Warn, "cannot check the licence's chunk quota: status.license is absent")
}

// An expired licence says how many days ago, counted as a positive number.
func TestExpiredLicenceDaysAgo(t *testing.T) {
	in := cluster(5, 3, 3, 10)
	in.License.ExpirationDate = "2026-11-16 12:00:00" // ten days before the fixtures' clock
	expect(t, Run(in, nil, "v1"), "license.expiry", Fail, "(10 days ago)")
}
