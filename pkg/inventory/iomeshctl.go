package inventory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// IOMeshctl runs `iomeshctl args...` in pod's iomesh-meta container and returns its output.
func (r Reader) IOMeshctl(ctx context.Context, pod string, args ...string) (string, error) {
	if r.Exec == nil {
		return "", ErrNoExec
	}
	stdout, _, err := r.Exec.Exec(ctx, r.Namespace, pod, MetaContainer, append([]string{IOMeshctl}, args...))
	return stdout, err
}

// SummaryCluster is `iomeshctl summary cluster` on pod.
func (r Reader) SummaryCluster(ctx context.Context, pod string) (string, error) {
	return r.IOMeshctl(ctx, pod, "summary", "cluster")
}

// UnregisterChunk is `iomeshctl chunk unregister <id>` on pod: it returns when IOMesh has moved
// the chunk's data away, which can take from minutes to hours.
func (r Reader) UnregisterChunk(ctx context.Context, pod string, id int64) (string, error) {
	return r.IOMeshctl(ctx, pod, "chunk", "unregister", strconv.FormatInt(id, 10))
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
