// Package color decides whether output may use colour and Unicode marks: only on a terminal,
// never with NO_COLOR, and as --color always|auto|never says.
package color

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
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
}

// SystemEnv reads the real terminal and environment.
func SystemEnv() Env {
	return Env{
		IsTerminal: func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
		Getenv: os.Getenv,
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

// Interactive reports a terminal that understands escape sequences: not TERM=dumb, as kubectl
// decides for its own colour and in-place output.
func (env Env) Interactive(w io.Writer) bool {
	if env.Getenv != nil && env.Getenv("TERM") == "dumb" {
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
