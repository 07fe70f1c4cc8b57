// Package license reads the IOMesh licence the operator publishes in the IOMeshCluster's
// status.license. The licence code itself (Secret iomesh-authorization-code) is never read.
package license

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// License is what status.license says.
type License struct {
	MaxChunkNum                *int   `json:"maxChunkNum,omitempty"`
	LicenseType                string `json:"licenseType,omitempty"`
	SoftwareEdition            string `json:"softwareEdition,omitempty"`
	ExpirationDate             string `json:"expirationDate,omitempty"`
	SubscriptionExpirationDate string `json:"subscriptionExpirationDate,omitempty"`
	MaxPhysicalDataCapacity    string `json:"maxPhysicalDataCapacity,omitempty"`
	Serial                     string `json:"serial,omitempty"`
	SignDate                   string `json:"signDate,omitempty"`
	maxChunkNumErr             error
}

// FromStatus reads status.license from an IOMeshCluster's content. ok is false when the
// operator has published no licence yet.
func FromStatus(obj map[string]interface{}) (License, bool) {
	raw, found := values.Lookup(obj, "status.license")
	m, isMap := raw.(map[string]interface{})
	if !found || !isMap || len(m) == 0 {
		return License{}, false
	}
	str := func(k string) string {
		switch v := m[k].(type) {
		case string:
			return strings.TrimSpace(v)
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	l := License{
		LicenseType:                str("licenseType"),
		SoftwareEdition:            str("softwareEdition"),
		ExpirationDate:             str("expirationDate"),
		SubscriptionExpirationDate: str("subscriptionExpirationDate"),
		MaxPhysicalDataCapacity:    str("maxPhysicalDataCapacity"),
		Serial:                     str("serial"),
		SignDate:                   str("signDate"),
	}
	if v, has := m["maxChunkNum"]; has {
		n, err := values.Int(v)
		if err != nil {
			l.maxChunkNumErr = fmt.Errorf("status.license.maxChunkNum %w", err)
		} else {
			l.MaxChunkNum = &n
		}
	}
	return l, true
}

// MaxChunkNumError reports a maxChunkNum that is present but unreadable.
func (l License) MaxChunkNumError() error { return l.maxChunkNumErr }

// dateLayouts are the forms an expiration date is accepted in; the operator's exact format is
// not documented.
var dateLayouts = []string{
	time.RFC3339Nano,
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05 -0700 MST",
	"2006-01-02",
	"2006/01/02",
	"2006/01/02 15:04:05",
}

// Expires parses the expiration date. ok is false for a perpetual licence.
func (l License) Expires() (t time.Time, ok bool, err error) {
	s := l.ExpirationDate
	if s == "" {
		return time.Time{}, false, nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true, nil
		}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil && secs > 0 {
		// Unix seconds, or milliseconds when too large for seconds.
		if secs > 1e11 {
			return time.UnixMilli(secs).UTC(), true, nil
		}
		return time.Unix(secs, 0).UTC(), true, nil
	}
	return time.Time{}, false, fmt.Errorf("status.license.expirationDate %q is not a date this tool understands", s)
}

// DaysLeft is the number of whole days until expiry (negative once expired). ok is false for a
// licence with no expiry.
func (l License) DaysLeft(now time.Time) (days int, ok bool, err error) {
	t, ok, err := l.Expires()
	if err != nil || !ok {
		return 0, ok, err
	}
	d := t.Sub(now)
	days = int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days-- // an expiry earlier today counts as a day past
	}
	return days, true, nil
}
