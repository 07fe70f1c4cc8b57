package output

import "testing"

func TestN(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Plural(0, "node"), "0 nodes"},
		{Plural(1, "node"), "1 node"},
		{Plural(2, "node"), "2 nodes"},
		{N(1, "field changes", "fields change"), "1 field changes"},
		{N(4, "field changes", "fields change"), "4 fields change"},
		{N(-1, "day", "days"), "-1 day"},
		{Agree(1, "is", "are"), "is"},
		{Agree(0, "is", "are"), "are"},
		{Agree(-1, "day is", "days are"), "day is"},
		{Agree(2, "is", "are"), "are"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
