package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", base, Error},
		{"usage", UsageError(base), Usage},
		{"wrapped twice", fmt.Errorf("ctx: %w", Wrap(Refused, base)), Refused},
		{"silent", &Silent{Code: Warnings}, Warnings},
		{"silent wrapped", fmt.Errorf("x: %w", &Silent{Code: NotConverged}), NotConverged},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.err); got != tc.want {
				t.Errorf("%s: Of = %d, want %d", tc.name, got, tc.want)
			}
		})
	}
	if Wrap(Refused, nil) != nil {
		t.Error("Wrap(nil) must stay nil")
	}
	if !errors.Is(Wrap(Refused, base), base) {
		t.Error("Wrap must keep the chain")
	}
}
