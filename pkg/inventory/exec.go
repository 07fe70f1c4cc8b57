package inventory

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// Executor runs a command in a container, as `kubectl exec` does, and returns what it wrote.
type Executor interface {
	Exec(ctx context.Context, namespace, pod, container string, cmd []string) (stdout, stderr string, err error)
}

// ExecError is a command that failed in its container: the stream's error with the command's
// output. A kubelet passes the exit code on; other runtimes (kwok) report only that it failed,
// so callers go by the output.
type ExecError struct {
	Pod, Container string
	Cmd            []string
	Stdout, Stderr string
	Err            error
}

func (e *ExecError) Error() string {
	msg := fmt.Sprintf("`%s` in %s (container %s) failed: %v", strings.Join(e.Cmd, " "), e.Pod, e.Container, e.Err)
	if out := strings.TrimSpace(e.Stderr + "\n" + e.Stdout); out != "" {
		msg += "\n" + printers.EscapeTerminal(out)
	}
	return msg
}

func (e *ExecError) Unwrap() error { return e.Err }

// RemoteExecutor execs through the API server: WebSocket first, SPDY where the server or a proxy
// does not upgrade, as kubectl does.
type RemoteExecutor struct {
	Config *rest.Config
	Kube   kubernetes.Interface
}

// Exec runs cmd without a terminal or input.
func (x RemoteExecutor) Exec(ctx context.Context, namespace, pod, container string, cmd []string) (string, string, error) {
	req := x.Kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(x.Config, "POST", req.URL())
	if err != nil {
		return "", "", err
	}
	ws, err := remotecommand.NewWebSocketExecutor(x.Config, "GET", req.URL().String())
	if err != nil {
		return "", "", err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return "", "", err
	}
	stdout, stderr := &capped{max: MaxExecOutput}, &capped{max: MaxExecOutput}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
	if err != nil {
		return stdout.String(), stderr.String(), &ExecError{Pod: pod, Container: container, Cmd: cmd, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), stderr.String(), nil
}

// MaxExecOutput is how much of a command's stdout (and of its stderr) is kept: what a pod
// writes must not fill this process's memory.
const MaxExecOutput = 1 << 20

// capped keeps the first max bytes written to it and counts the rest; it never fails a write,
// so the stream is read to its end.
type capped struct {
	max     int
	buf     bytes.Buffer
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if room >= len(p) {
		return c.buf.Write(p)
	}
	if room > 0 {
		c.buf.Write(p[:room])
	}
	c.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

// String is what was kept, with a note when output was cut.
func (c *capped) String() string {
	if c.dropped == 0 {
		return c.buf.String()
	}
	return fmt.Sprintf("%s\n[output cut at %d bytes: %d more not kept]", c.buf.String(), c.max, c.dropped)
}
