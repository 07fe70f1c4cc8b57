package edition

import (
	"encoding/json"
	"testing"
	"time"
)

func FuzzFromStatus(f *testing.F) {
	f.Add([]byte(`{"status":{"license":{"maxChunkNum":6,"expirationDate":"2027-01-01","licenseType":"TRIAL"}}}`))
	f.Add([]byte(`{"status":{"license":{"maxChunkNum":"x","expirationDate":"99999999999999999999"}}}`))
	f.Add([]byte(`{"status":{"license":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]interface{}
		if json.Unmarshal(data, &obj) != nil {
			return
		}
		l, ok := fromStatus(obj)
		if !ok {
			return
		}
		_, _, _ = l.DaysLeft(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	})
}
