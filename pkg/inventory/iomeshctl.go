package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
)

// Where the IOMesh docs run iomeshctl: in the meta leader's iomesh-meta container.
const (
	IOMeshctl     = "/opt/iomesh/iomeshctl"
	MetaContainer = "iomesh-meta"
)

// ErrNoExec is a reader that cannot exec (unit tests).
var ErrNoExec = errors.New("running commands in pods is not available")

// Shell runs iomeshctl in the meta container, to print its exit status after its output.
const Shell = "/bin/sh"

// statusLine ends iomeshctl's output with its exit status.
const statusLine = "kubectl-iomesh: iomeshctl exited "

// ErrNoStatus is an exec that returned without error but without iomeshctl's exit status. An
// exec stream can end before its command does (a kubelet, API server or proxy closing it), and
// client-go, or the API server relaying the kubelet's stream, reports that as success: only the
// status printed after the command ends proves that it ran to its end.
var ErrNoStatus = errors.New("the exec stream ended without iomeshctl's exit status (a cut stream), so whether iomeshctl ran to its end is not known")

// IOMeshctl runs `iomeshctl args...` in pod's iomesh-meta container, under /bin/sh so that its
// exit status follows its output, and returns the output. ErrNoStatus: the stream ended
// before the status came.
func (r Reader) IOMeshctl(ctx context.Context, pod string, args ...string) (string, error) {
	if r.Exec == nil {
		return "", ErrNoExec
	}
	script := IOMeshctl + ` "$@"; s=$?; echo; echo "` + statusLine + `$s"; exit $s`
	stdout, _, err := r.Exec.Exec(ctx, r.Namespace, pod, MetaContainer, append([]string{Shell, "-c", script, "iomeshctl"}, args...))
	out, status, ok := cutStatus(stdout)
	var xe *ExecError
	if errors.As(err, &xe) {
		// Said as the command a person runs, not the shell around it.
		xe.Cmd, xe.Stdout = append([]string{IOMeshctl}, args...), out
		// The runtime's own words when the container has no shell to start.
		if why := fmt.Sprint(xe.Err); !ok && (strings.Contains(why, `"`+Shell+`"`) || strings.Contains(why, "stat "+Shell)) {
			return out, fmt.Errorf("%w (the %s container of %s has no %s, which prints iomeshctl's exit status: run `%s` by hand)", err, MetaContainer, pod, Shell, r.CommandLine(pod, args...))
		}
	}
	switch {
	case err != nil:
		return out, err
	case !ok:
		return out, ErrNoStatus
	case status != "0":
		return out, fmt.Errorf("iomeshctl exited %s", status)
	}
	return out, nil
}

// cutStatus splits the status line off the output.
func cutStatus(stdout string) (out, status string, ok bool) {
	i := strings.LastIndex(stdout, "\n"+statusLine)
	if i < 0 {
		return stdout, "", false
	}
	status = strings.TrimSpace(stdout[i+1+len(statusLine):])
	return strings.TrimSuffix(stdout[:i], "\n"), status, status != ""
}

// SummaryCluster is `iomeshctl summary cluster` on pod.
func (r Reader) SummaryCluster(ctx context.Context, pod string) (string, error) {
	return r.IOMeshctl(ctx, pod, "summary", "cluster")
}

// LocalAddresses reads the IPv4 addresses the kernel marks LOCAL inside pod, with
// `cat /proc/net/fib_trie` in its first container: any Linux container has the file and cat.
func (r Reader) LocalAddresses(ctx context.Context, pod corev1.Pod) ([]string, error) {
	if r.Exec == nil {
		return nil, ErrNoExec
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("pod %s has no container", pod.Name)
	}
	stdout, _, err := r.Exec.Exec(ctx, r.Namespace, pod.Name, pod.Spec.Containers[0].Name, []string{"cat", iomeshcluster.FibTrie})
	if err != nil {
		return nil, err
	}
	return iomeshcluster.LocalAddresses(stdout), nil
}

// CommandLine is how a person runs args on pod, for messages.
func (r Reader) CommandLine(pod string, args ...string) string {
	return fmt.Sprintf("kubectl exec -n %s %s -c %s -- %s %s", r.Namespace, pod, MetaContainer, IOMeshctl, strings.Join(args, " "))
}
