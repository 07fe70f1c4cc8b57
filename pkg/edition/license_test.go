package edition

import (
	"testing"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
)

// fromStatus decodes obj as an IOMeshCluster and reads its licence.
func fromStatus(obj map[string]interface{}) (License, bool) {
	c, err := iomeshcluster.FromObject(obj)
	if err != nil {
		return License{}, false
	}
	return LicenseOf(c)
}

func TestFromStatus(t *testing.T) {
	obj := map[string]interface{}{"status": map[string]interface{}{"license": map[string]interface{}{
		"maxChunkNum": float64(6), "licenseType": "SUBSCRIPTION", "softwareEdition": "ENTERPRISE",
		"expirationDate": "2026-12-31T00:00:00Z",
	}}}
	l, ok := fromStatus(obj)
	if !ok || l.MaxChunkNum == nil || *l.MaxChunkNum != 6 || l.SoftwareEdition != "ENTERPRISE" {
		t.Fatalf("got %+v ok=%v", l, ok)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	days, has, err := l.DaysLeft(now)
	if err != nil || !has || days != 34 {
		t.Fatalf("DaysLeft = %d %v %v, want 34", days, has, err)
	}
	if _, ok := fromStatus(map[string]interface{}{"status": map[string]interface{}{}}); ok {
		t.Fatal("no licence must report ok=false")
	}
	if _, ok := fromStatus(map[string]interface{}{}); ok {
		t.Fatal("no status must report ok=false")
	}
}

func TestDaysLeft(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		date    string
		days    int
		has     bool
		wantErr bool
	}{
		{"", 0, false, false},
		{"2026-11-27", 0, true, false},
		{"2026-11-26", -1, true, false},
		{"2026-11-25", -2, true, false},
		{"2027-11-26 12:00:00", 365, true, false},
		{"2026/12/26", 29, true, false},
		{"1827144000", 364, true, false},
		{"1795780800000", 1, true, false},        // milliseconds (2026-11-27 12:00 UTC)
		{"0", 0, false, true},                    // not a date
		{"2026-11-25 12:00:00", -1, true, false}, // exactly a day ago
		{"2026-11-26 11:00:00", -1, true, false}, // an hour ago
		{"next tuesday", 0, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.date, func(t *testing.T) {
			days, has, err := License{ExpirationDate: tc.date}.DaysLeft(now)
			if (err != nil) != tc.wantErr || has != tc.has || days != tc.days {
				t.Errorf("%q: got %d %v %v, want %d %v err=%v", tc.date, days, has, err, tc.days, tc.has, tc.wantErr)
			}
		})
	}
}

// Unix time up to 1e11 is seconds (to the year 5138); above, milliseconds.
func TestUnixSecondsOrMilliseconds(t *testing.T) {
	for in, year := range map[string]int{"100000000000": 5138, "100000000001": 1973, "1": 1970} {
		got, ok, err := License{ExpirationDate: in}.Expires()
		if err != nil || !ok || got.Year() != year {
			t.Errorf("%s: %v %v %v, want the year %d", in, got, ok, err, year)
		}
	}
}

func TestBadMaxChunkNum(t *testing.T) {
	l, ok := fromStatus(map[string]interface{}{"status": map[string]interface{}{"license": map[string]interface{}{"maxChunkNum": "many"}}})
	if !ok || l.MaxChunkNum != nil || l.MaxChunkNumError() == nil {
		t.Fatalf("got %+v", l)
	}
}

// A licence without maxChunkNum (or with null) has no quota and no error: the quota check then
// says the licence states none.
func TestLicenseWithoutQuota(t *testing.T) {
	for name, lic := range map[string]map[string]interface{}{
		"absent": {"softwareEdition": "ENTERPRISE"},
		"null":   {"softwareEdition": "ENTERPRISE", "maxChunkNum": nil},
	} {
		t.Run(name, func(t *testing.T) {
			l, ok := fromStatus(map[string]interface{}{"status": map[string]interface{}{"license": lic}})
			if !ok || l.MaxChunkNum != nil || l.MaxChunkNumError() != nil {
				t.Fatalf("got %+v ok=%v err=%v", l, ok, l.MaxChunkNumError())
			}
		})
	}
}
