package scaleplan

import (
	"strings"
	"testing"
)

func TestValueDiff(t *testing.T) {
	d := ValueDiff(map[string]interface{}{"a": 1, "gone": "x"}, map[string]interface{}{"a": 2, "new": true})
	var got []string
	for _, c := range d {
		got = append(got, c.Path+":"+c.Old+">"+c.New)
	}
	if strings.Join(got, ",") != "a:1>2,gone:\"x\">(removed),new:>true" {
		t.Fatalf("diff %v", got)
	}
}
