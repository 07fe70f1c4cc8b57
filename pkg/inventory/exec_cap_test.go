package inventory

import (
	"errors"
	"strings"
	"testing"
)

func TestCappedOutput(t *testing.T) {
	c := &capped{max: 8}
	for _, p := range []string{"12345", "6789", "abc"} {
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("a write past the cap must not fail the stream: %d %v", n, err)
		}
	}
	if got := c.String(); got != "12345678\n[output cut at 8 bytes: 4 more not kept]" {
		t.Fatalf("%q", got)
	}
	if got := (&capped{max: 8}).String(); got != "" {
		t.Fatalf("%q", got)
	}
}

// What a pod writes is escaped before it reaches a terminal.
func TestExecErrorEscapes(t *testing.T) {
	e := &ExecError{Pod: "p", Container: "c", Cmd: []string{"x"}, Stderr: "bad \x1b]0;owned\x07 text", Err: errors.New("exit 1")}
	if strings.ContainsRune(e.Error(), '\x1b') || !strings.Contains(e.Error(), "^[]0;owned") {
		t.Fatalf("%q", e.Error())
	}
}
