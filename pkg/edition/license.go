// The IOMesh licence the operator publishes in the IOMeshCluster's status.license. The licence
// code itself (Secret iomesh-authorization-code) is never read.

package edition

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
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

// LicenseOf reads status.license. ok is false when the operator has published no licence yet.
func LicenseOf(c *iomeshcluster.IOMeshCluster) (License, bool) {
	m := c.License()
	if m == nil {
		return License{}, false
	}
	l := License{
		LicenseType:                m.LicenseType.Safe(),
		SoftwareEdition:            m.SoftwareEdition.Safe(),
		ExpirationDate:             m.ExpirationDate.Safe(),
		SubscriptionExpirationDate: m.SubscriptionExpirationDate.Safe(),
		MaxPhysicalDataCapacity:    m.MaxPhysicalDataCapacity.Safe(),
		Serial:                     m.Serial.Safe(),
		SignDate:                   m.SignDate.Safe(),
	}
	if len(m.MaxChunkNum) > 0 && string(m.MaxChunkNum) != "null" {
		var v interface{}
		n, err := 0, json.Unmarshal(m.MaxChunkNum, &v)
		if err == nil {
			n, err = values.Int(v)
		}
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
