// API errors as sentences that say what failed and what to do.

package inventory

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Explain wraps err from an API call that tried to <verb> <what> (e.g. "list", "pods in
// namespace iomesh-system") with the likely cause and the next step.
func Explain(err error, verb, what string) error {
	if err == nil {
		return nil
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("not allowed to %s %s: %w (ask a cluster admin to apply `kubectl iomesh rbac scale --user <you>` (or readonly), or check `kubectl auth can-i %s %s`)", verb, what, err, verb, firstWord(strings.TrimPrefix(what, "the ")))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server did not accept your credentials while trying to %s %s: %w (log in again or check --kubeconfig/--context)", verb, what, err)
	case Unreachable(err):
		return fmt.Errorf("cannot reach the Kubernetes API server to %s %s: %w (check --kubeconfig/--context and that the cluster is up)", verb, what, err)
	}
	return fmt.Errorf("cannot %s %s: %w", verb, what, err)
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

// Unreachable reports a network failure talking to the API server.
func Unreachable(err error) bool {
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ue) || errors.As(err, &ne) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout")
}
