package edition

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestParseCount(t *testing.T) {
	// The parser's own bound is the largest int32; the edition's limits are judged later.
	good := map[string]int{"5": 5, " 3 ": 3, "0": 0, "255": 255, "007": 7, "2147483647": 2147483647}
	for s, want := range good {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			if n, err := ParseCount(s); err != nil || n != want {
				t.Errorf("ParseCount(%q) = %d, %v", s, n, err)
			}
		})
	}
	bad := map[string]string{"": "empty", "-1": "negative", "abc": "not a whole number", "1e3": "not a whole number",
		"5.0": "not a whole number", "99999999999": "out of range", "2147483648": "out of range", "+5": "not a whole number", "0x10": "not a whole number"}
	for s, msg := range bad {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			if _, err := ParseCount(s); err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("ParseCount(%q) err = %v, want %q", s, err, msg)
			}
		})
	}
}

func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"5", "-1", "0", "abc", "1e3", "99999999999", " 3", "255", "", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseCount(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseCount(%q) = %d", s, n)
		}
		back, err := ParseCount(strconv.Itoa(n))
		if err != nil || back != n {
			t.Fatalf("round trip of %d: %d %v", n, back, err)
		}
	})
}

// The flag value: empty until given, the count and that it was given once set, unchanged by a
// bad value.
func TestCountValue(t *testing.T) {
	var n int
	var set bool
	v := NewCountValue(&n, &set)
	if v.String() != "" || v.Type() != "int" {
		t.Fatalf("unset: %q %q", v.String(), v.Type())
	}
	if err := v.Set("5"); err != nil || n != 5 || !set || v.String() != "5" {
		t.Fatalf("set 5: %v n=%d set=%v %q", err, n, set, v.String())
	}
	if err := v.Set("x"); err == nil || n != 5 {
		t.Fatalf("a bad value changed the count: %v n=%d", err, n)
	}
	if (CountValue{}).String() != "" {
		t.Fatal("an unbound value prints a count")
	}
}
