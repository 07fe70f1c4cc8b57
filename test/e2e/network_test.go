//go:build e2e

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The test cluster's Service and pod IPs come from its ranges (198.18.0.0/16 and 198.19.0.0/16
// unless told) and are unreachable on this machine: a call to one (by the API server, to a
// webhook or an aggregated API at a Service) fails here at once instead of leaving through the
// default route. The API server's certificate names its Service address.
func TestClusterIPsStayLocal(t *testing.T) {
	svc, err := env.kube.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil || !env.serviceCIDR.Contains(ip) {
		t.Fatalf("Service kubernetes has cluster IP %s, want one in the Service range %s (%v)", svc.Spec.ClusterIP, env.serviceCIDR, err)
	}
	if sans := certIPs(t, filepath.Join(env.clusterDir, "pki", "apiserver.crt")); !slices.Contains(sans, ip.String()) {
		t.Fatalf("the API server's certificate names %v, not its Service address %s", sans, ip)
	}
	podIP := env.podCIDR.Addr().Next()
	if reason, err := os.ReadFile(filepath.Join(env.clusterDir, "no-routes")); err == nil {
		t.Skipf("no unreachable routes on this machine: %s", reason)
	}
	for _, addr := range []string{net.JoinHostPort(svc.Spec.ClusterIP, "443"), net.JoinHostPort(podIP.String(), "443")} {
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

func certIPs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	return ips
}

// routesIn lists the machine's routes (every table) whose destination overlaps one of prefixes,
// as `ip` prints them: the part of the routing table a cluster on those ranges owns, whatever
// other clusters on the machine do meanwhile.
func routesIn(t *testing.T, prefixes ...netip.Prefix) []string {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	types := map[string]bool{"unicast": true, "unreachable": true, "blackhole": true, "prohibit": true, "local": true,
		"broadcast": true, "throw": true, "nat": true, "anycast": true, "multicast": true}
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && types[f[0]] {
			f = f[1:]
		}
		if len(f) == 0 || f[0] == "default" || strings.TrimLeft(line, " \t") != line {
			continue // the default route, or a nexthop of the route above
		}
		dst := f[0]
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			t.Fatalf("ip route: %q: %v", line, err)
		}
		for _, q := range prefixes {
			if p.Overlaps(q) {
				lines = append(lines, strings.TrimSpace(line))
				break
			}
		}
	}
	return lines
}

// A second local cluster, on ranges of its own (TEST-NET-2 and TEST-NET-3, RFC 5737, which no
// other run uses), comes up and goes down with hack/cluster.sh as the demo and the suite do:
// while it is up both ranges are unreachable here and listed as its own; after `down` the
// routing table is as it was before `up`. A range that overlaps a route this suite's cluster
// added is refused before anything changes, naming the route.
func TestDownLeavesTheRoutesAsBefore(t *testing.T) {
	if reason, err := os.ReadFile(filepath.Join(env.clusterDir, "no-routes")); err == nil {
		t.Skipf("this run adds no routes: %s", reason)
	}
	svc, pod := netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")
	dir := t.TempDir()
	cluster := func(extra ...string) result {
		t.Helper()
		vars := append([]string{"IOMESH_TEST_CLUSTER_DIR=" + dir, "IOMESH_SERVICE_CIDR=" + svc.String(), "IOMESH_POD_CIDR=" + pod.String()}, extra...)
		return run(t, vars, filepath.Join(env.root, "hack", "cluster.sh"), "up")
	}
	down := func() result {
		t.Helper()
		return run(t, []string{"IOMESH_TEST_CLUSTER_DIR=" + dir}, filepath.Join(env.root, "hack", "cluster.sh"), "down")
	}

	// Refused: a Service range inside this suite's own, whose unreachable route is there.
	inside := netip.PrefixFrom(env.serviceCIDR.Addr(), 24)
	before := routesIn(t, env.serviceCIDR, env.podCIDR, svc, pod)
	r := cluster("IOMESH_SERVICE_CIDR=" + inside.String())
	if r.code != 1 || !strings.Contains(r.stderr, "the Service range (IOMESH_SERVICE_CIDR) "+inside.String()+" overlaps the route 'unreachable "+env.serviceCIDR.String()+"'") {
		t.Fatalf("a range inside %s: want refused, naming the route:\n%s", env.serviceCIDR, r)
	}
	if got := routesIn(t, env.serviceCIDR, env.podCIDR, svc, pod); !slices.Equal(got, before) {
		t.Fatalf("a refused up changed the routes:\n%v\nbefore:\n%v", got, before)
	}

	before = routesIn(t, svc, pod)
	t.Cleanup(func() { down() })
	if r := cluster(); r.code != 0 {
		t.Fatalf("up: %s", r)
	}
	during := routesIn(t, svc, pod)
	for _, p := range []netip.Prefix{svc, pod} {
		if !slices.Contains(during, "unreachable "+p.String()) {
			t.Fatalf("while up, no unreachable route for %s: %v", p, during)
		}
	}
	listed, err := os.ReadFile(filepath.Join(dir, "routes"))
	if err != nil || string(listed) != svc.String()+"\n"+pod.String()+"\n" {
		t.Fatalf("the cluster lists the routes it added as %q (%v)", listed, err)
	}
	if sans := certIPs(t, filepath.Join(dir, "pki", "apiserver.crt")); !slices.Contains(sans, "198.51.100.1") {
		t.Fatalf("the API server's certificate names %v, not 198.51.100.1", sans)
	}
	if r := down(); r.code != 0 {
		t.Fatalf("down: %s", r)
	}
	if after := routesIn(t, svc, pod); !slices.Equal(after, before) {
		t.Fatalf("after down the routes in %s and %s are\n%v\nbefore up they were\n%v", svc, pod, after, before)
	}
	if _, err := os.Stat(filepath.Join(dir, "routes")); !os.IsNotExist(err) {
		t.Fatalf("the list of added routes outlives down (%v)", err)
	}
	record("isolation", "the local cluster's routes after `down`", "the routing table in its ranges is as before `up`; an overlapping range is refused, naming the route")
}

// mustAddressesIn checks that text has at least n matches of pattern, whose first group is an
// address in prefix.
func mustAddressesIn(t *testing.T, text, pattern string, n int, prefix netip.Prefix) {
	t.Helper()
	m := regexp.MustCompile(pattern).FindAllStringSubmatch(text, -1)
	if len(m) < n {
		t.Fatalf("%d addresses matching %s, want at least %d:\n%s", len(m), pattern, n, text)
	}
	for _, g := range m {
		ip, err := netip.ParseAddr(g[1])
		if err != nil || !prefix.Contains(ip) {
			t.Fatalf("address %q is not in %s (%v):\n%s", g[1], prefix, err, text)
		}
	}
}
