package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// errExec fails every command as RemoteExecutor does: an *ExecError, whose text carries the
// command run, "/bin/sh -c ..." included.
type errExec struct{ err error }

func (x errExec) Exec(_ context.Context, _, pod, container string, cmd []string) (string, string, error) {
	return "", "", &ExecError{Pod: pod, Container: container, Cmd: cmd, Err: x.err}
}

// The hint to run iomeshctl by hand for want of /bin/sh is given only when the runtime says the
// shell is missing, not for every failed exec (whose text names the command).
func TestShellHintOnlyWhenTheShellIsMissing(t *testing.T) {
	for _, cause := range []string{"error dialing backend: stream closed", `pods "iomesh-meta-0" is forbidden: User "u" cannot create resource "pods/exec"`} {
		r := Reader{Namespace: "iomesh-system", Exec: errExec{errors.New(cause)}}
		_, err := r.IOMeshctl(context.Background(), "iomesh-meta-0", "chunk", "unregister", "5")
		if err == nil {
			t.Fatal("want an error")
		}
		if strings.Contains(err.Error(), "may have no /bin/sh") {
			t.Errorf("%q is reported as a container without /bin/sh, with the unregister to run by hand:\n%v", cause, err)
		}
	}
}
