// This file decides whether output may use colour and Unicode marks: only on a terminal,
// never with NO_COLOR or TERM=dumb, on Windows only in a console that understands escape
// sequences (cli-runtime's rules), and as --color always|auto|never says.

package output

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"k8s.io/cli-runtime/pkg/printers"
)

// Mode is the --color flag value.
type Mode string

const (
	Auto   Mode = "auto"
	Always Mode = "always"
	Never  Mode = "never"
)

// String implements pflag.Value.
func (m *Mode) String() string {
	if *m == "" {
		return string(Auto)
	}
	return string(*m)
}

// Set implements pflag.Value.
func (m *Mode) Set(v string) error {
	switch Mode(v) {
	case Auto, Always, Never:
		*m = Mode(v)
		return nil
	}
	return fmt.Errorf("must be one of always, auto, never")
}

// Type implements pflag.Value.
func (m *Mode) Type() string { return "string" }

// Env is what the decision reads from the environment; swap it in tests.
type Env struct {
	IsTerminal func(io.Writer) bool
	Getenv     func(string) string
	// GOOS is the operating system ("" reads as not Windows).
	GOOS string
}

// SystemEnv reads the real terminal and environment.
func SystemEnv() Env {
	return Env{
		// cli-runtime's test also knows Windows console handles.
		IsTerminal: func(w io.Writer) bool { return printers.IsTerminal(w) },
		Getenv:     os.Getenv,
		GOOS:       runtime.GOOS,
	}
}

// Enabled reports whether w gets colour. NO_COLOR wins over everything but --color always.
func (m Mode) Enabled(w io.Writer, env Env) bool {
	switch m {
	case Always:
		return true
	case Never:
		return false
	}
	if env.Getenv != nil && env.Getenv("NO_COLOR") != "" {
		return false
	}
	return env.Interactive(w)
}

// Interactive reports a terminal that understands escape sequences, as kubectl decides for its
// own colour and in-place output: not TERM=dumb, and on Windows only in Windows Terminal
// (WT_SESSION set), since the classic console prints escape sequences as text.
func (env Env) Interactive(w io.Writer) bool {
	if env.Getenv != nil && env.Getenv("TERM") == "dumb" {
		return false
	}
	if env.GOOS == "windows" && (env.Getenv == nil || env.Getenv("WT_SESSION") == "") {
		return false
	}
	return env.IsTerminal != nil && env.IsTerminal(w)
}

// Painter wraps text in ANSI colours when enabled.
type Painter struct{ On bool }

func (p Painter) wrap(code, s string) string {
	if !p.On {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p Painter) Green(s string) string  { return p.wrap("32", s) }
func (p Painter) Yellow(s string) string { return p.wrap("33", s) }
func (p Painter) Red(s string) string    { return p.wrap("31", s) }
func (p Painter) Faint(s string) string  { return p.wrap("2", s) }
