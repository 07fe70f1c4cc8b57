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

// iomeshctl runs `iomeshctl args...` in pod's iomesh-meta container and returns its output. It
// stays unexported so that the reader runs only the reads below; the unregister, a write, is the
// engine's (pkg/scale).
func (r Reader) iomeshctl(ctx context.Context, pod string, args ...string) (string, error) {
	if r.Exec == nil {
		return "", ErrNoExec
	}
	stdout, _, err := r.Exec.Exec(ctx, r.Namespace, pod, MetaContainer, append([]string{IOMeshctl}, args...))
	return stdout, err
}

// SummaryCluster is `iomeshctl summary cluster` on pod.
func (r Reader) SummaryCluster(ctx context.Context, pod string) (string, error) {
	return r.iomeshctl(ctx, pod, "summary", "cluster")
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
