// Package exitcode holds the exit-code contract shared by every command and the error type that
// carries a code from deep in a command up to main. It imports no other package of this module.
package exitcode

import "errors"

// The contract: every command exits with one of these.
const (
	OK           = 0 // success
	Error        = 1 // the command could not do its work
	Usage        = 2 // bad flags or arguments
	Refused      = 3 // a check refused the operation; nothing was changed
	Warnings     = 4 // only warnings, and --fail-on-warning was set
	NotConverged = 5 // applied, but not converged before --timeout
)

// CodedError is an error that decides the process exit code.
type CodedError struct {
	Code int
	Err  error
}

func (e *CodedError) Error() string { return e.Err.Error() }
func (e *CodedError) Unwrap() error { return e.Err }

// Wrap attaches code to err; a nil err stays nil.
func Wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	return &CodedError{Code: code, Err: err}
}

// UsageError reports bad usage (exit 2).
func UsageError(err error) error { return Wrap(Usage, err) }

// Silent carries an exit code for a command that has already printed everything it had to say.
type Silent struct{ Code int }

func (s *Silent) Error() string { return "" }

// Of returns the exit code for err: 0 for nil, the code it carries, or 1.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var s *Silent
	if errors.As(err, &s) {
		return s.Code
	}
	var c *CodedError
	if errors.As(err, &c) {
		return c.Code
	}
	return Error
}

// IsSilent reports whether err has nothing left to print.
func IsSilent(err error) bool {
	var s *Silent
	return errors.As(err, &s)
}
