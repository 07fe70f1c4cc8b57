package output

import (
	"bytes"
	"io"
	"testing"
)

func TestEnabled(t *testing.T) {
	tty := func(io.Writer) bool { return true }
	notty := func(io.Writer) bool { return false }
	env := func(noColor string) func(string) string {
		return func(k string) string {
			if k == "NO_COLOR" {
				return noColor
			}
			return ""
		}
	}
	cases := []struct {
		mode Mode
		e    Env
		want bool
	}{
		{Auto, Env{IsTerminal: tty, Getenv: env("")}, true},
		{Auto, Env{IsTerminal: notty, Getenv: env("")}, false},
		{Auto, Env{IsTerminal: tty, Getenv: env("1")}, false},
		{Always, Env{IsTerminal: notty, Getenv: env("1")}, true},
		{Never, Env{IsTerminal: tty, Getenv: env("")}, false},
	}
	for i, c := range cases {
		if got := c.mode.Enabled(&bytes.Buffer{}, c.e); got != c.want {
			t.Errorf("case %d: got %v want %v", i, got, c.want)
		}
	}
	var m Mode
	if err := m.Set("sometimes"); err == nil {
		t.Fatal("bad mode accepted")
	}
	if err := m.Set("never"); err != nil || m != Never {
		t.Fatal("never not accepted")
	}
}

func TestDumbTerminal(t *testing.T) {
	env := Env{IsTerminal: func(io.Writer) bool { return true }, Getenv: func(k string) string {
		if k == "TERM" {
			return "dumb"
		}
		return ""
	}}
	if Auto.Enabled(io.Discard, env) || env.Interactive(io.Discard) {
		t.Fatal("TERM=dumb gets escape sequences")
	}
	env.Getenv = func(string) string { return "" }
	if !Auto.Enabled(io.Discard, env) || !env.Interactive(io.Discard) {
		t.Fatal("a real terminal gets none")
	}
}

func TestWindowsConsole(t *testing.T) {
	vars := map[string]string{}
	env := Env{IsTerminal: func(io.Writer) bool { return true }, Getenv: func(k string) string { return vars[k] }, GOOS: "windows"}
	if Auto.Enabled(io.Discard, env) || env.Interactive(io.Discard) {
		t.Fatal("a classic Windows console gets escape sequences")
	}
	vars["WT_SESSION"] = "d6b1e1f2"
	if !Auto.Enabled(io.Discard, env) || !env.Interactive(io.Discard) {
		t.Fatal("Windows Terminal gets none")
	}
	if !Always.Enabled(io.Discard, Env{GOOS: "windows"}) {
		t.Fatal("--color always is not obeyed on Windows")
	}
	env.GOOS = "linux"
	delete(vars, "WT_SESSION")
	if !env.Interactive(io.Discard) {
		t.Fatal("WT_SESSION is required off Windows")
	}
}

func TestSystemEnvSeesNoTerminalInAPipe(t *testing.T) {
	if SystemEnv().IsTerminal(&bytes.Buffer{}) {
		t.Fatal("a buffer is taken for a terminal")
	}
}
