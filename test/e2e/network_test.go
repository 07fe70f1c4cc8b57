//go:build e2e

package e2e

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The test cluster's Service and pod IPs are unreachable on this machine: a call to one (by the
// API server, to a webhook or an aggregated API at a Service) fails here at once instead of
// leaving through the default route.
func TestClusterIPsStayLocal(t *testing.T) {
	svc, err := env.kube.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{net.JoinHostPort(svc.Spec.ClusterIP, "443"), "10.0.0.1:443"} {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.Close()
			t.Fatalf("%s answered: cluster and pod IPs must be unreachable here", addr)
		}
		if !errors.Is(err, syscall.EHOSTUNREACH) && !errors.Is(err, syscall.ENETUNREACH) {
			t.Fatalf("%s: %v after %v; want 'no route to host' at once (hack/cluster.sh adds unreachable routes)", addr, err, time.Since(start))
		}
	}
	record("isolation", "Service and pod IPs unreachable on the test machine", "a dial fails at once with no route to host")
}
