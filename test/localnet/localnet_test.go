// Package localnet tests what hack/cluster.sh does to the machine's network before the local
// cluster starts and after it stops (`net-up`, `net-down`, the steps `up` and `down` run), over
// a stand-in `ip` that keeps its routing table in a file: the ranges it refuses, naming the
// overlap; the routes it adds, records and removes; the routes it leaves alone; and what it says
// without root.
package localnet

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeIP answers the `ip` calls hack/cluster.sh makes from $FAKE_IP_DIR/routes and
// $FAKE_IP_DIR/addrs, and logs each change it is asked for to $FAKE_IP_DIR/calls.
const fakeIP = `#!/usr/bin/env bash
set -eu
d=$FAKE_IP_DIR
case "$*" in
  "-4 route show table all") cat "$d/routes" ;;
  "-4 -o addr show") cat "$d/addrs" ;;
  "route add unreachable "*)
    echo "$*" >> "$d/calls"
    if grep -qx "unreachable $4" "$d/routes"; then echo "RTNETLINK answers: File exists" >&2; exit 2; fi
    echo "unreachable $4" >> "$d/routes" ;;
  "route del unreachable "*)
    echo "$*" >> "$d/calls"
    grep -qx "unreachable $4" "$d/routes" || { echo "RTNETLINK answers: No such process" >&2; exit 2; }
    grep -vx "unreachable $4" "$d/routes" > "$d/routes.new" || true
    mv "$d/routes.new" "$d/routes" ;;
  *) echo "fake ip: unexpected: $*" >&2; exit 2 ;;
esac
`

// fakeSudo runs its command without options, for a run that is not root.
const fakeSudo = `#!/usr/bin/env bash
while [ "${1:-}" = -n ] || [ "${1:-}" = -E ]; do shift; done
exec "$@"
`

const (
	machineRoutes = `default via 192.0.2.1 dev eth0
192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2
172.16.0.0/12 proto static
	nexthop via 192.0.2.3 dev eth0 weight 1
	nexthop via 192.0.2.4 dev eth0 weight 1
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2
unreachable 10.96.0.0/16
`
	machineAddrs = `1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
2: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\       valid_lft forever preferred_lft forever
`
)

type machine struct {
	t          *testing.T
	dir        string // the fake ip's files
	clusterDir string
	bin        string
}

func newMachine(t *testing.T, routes, addrs string) *machine {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("hack/cluster.sh needs python3")
	}
	// go test caches a result by the files the test reads: the scripts are what is under test.
	for _, f := range []string{"cluster.sh", "lib.sh"} {
		if _, err := os.ReadFile(filepath.Join("..", "..", "hack", f)); err != nil {
			t.Fatal(err)
		}
	}
	m := &machine{t: t, dir: t.TempDir()}
	m.clusterDir = filepath.Join(m.dir, "cluster")
	m.bin = filepath.Join(m.dir, "bin")
	if err := os.MkdirAll(m.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(m.bin, "ip"), fakeIP, 0o755)
	if os.Geteuid() != 0 {
		write(t, filepath.Join(m.bin, "sudo"), fakeSudo, 0o755)
	}
	write(t, filepath.Join(m.dir, "routes"), routes, 0o644)
	write(t, filepath.Join(m.dir, "addrs"), addrs, 0o644)
	return m
}

func write(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

func (m *machine) read(name string) string {
	m.t.Helper()
	b, err := os.ReadFile(filepath.Join(m.dir, name))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		m.t.Fatal(err)
	}
	return string(b)
}

func (m *machine) routes() string { return m.read("routes") }

// run runs hack/cluster.sh CMD with the stand-in ip first on PATH.
func (m *machine) run(env []string, cmd string) (stderr string, code int) {
	m.t.Helper()
	c := exec.Command("bash", filepath.Join("..", "..", "hack", "cluster.sh"), cmd)
	c.Env = append(os.Environ(), "PATH="+m.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_IP_DIR="+m.dir, "IOMESH_TEST_CLUSTER_DIR="+m.clusterDir,
		"IOMESH_SERVICE_CIDR=", "IOMESH_POD_CIDR=", "IOMESH_UNPRIVILEGED=")
	c.Env = append(c.Env, env...)
	var errOut bytes.Buffer
	c.Stderr = &errOut
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return errOut.String(), ee.ExitCode()
	} else if err != nil {
		m.t.Fatal(err)
	}
	return errOut.String(), 0
}

func (m *machine) mustRun(env []string, cmd string) string {
	m.t.Helper()
	out, code := m.run(env, cmd)
	if code != 0 {
		m.t.Fatalf("cluster.sh %s: exit %d\n%s", cmd, code, out)
	}
	return out
}

func (m *machine) recorded() string {
	m.t.Helper()
	b, err := os.ReadFile(filepath.Join(m.clusterDir, "routes"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		m.t.Fatal(err)
	}
	return string(b)
}

// By default only the two reserved ranges get routes; the run lists them after it recreates the
// cluster directory, and `down` leaves the table as it was before `up`.
func TestRoutesAddedRecordedAndRemoved(t *testing.T) {
	t.Parallel()
	m := newMachine(t, machineRoutes, machineAddrs)
	m.mustRun(nil, "net-up")
	if got, want := m.recorded(), "198.18.0.0/16\n198.19.0.0/16\n"; got != want {
		t.Fatalf("recorded %q, want %q", got, want)
	}
	if got, want := m.routes(), machineRoutes+"unreachable 198.18.0.0/16\nunreachable 198.19.0.0/16\n"; got != want {
		t.Fatalf("routes after up:\n%s\nwant\n%s", got, want)
	}
	ranges, err := os.ReadFile(filepath.Join(m.clusterDir, "ranges"))
	if err != nil || string(ranges) != "service 198.18.0.0/16\npod 198.19.0.0/16\n" {
		t.Fatalf("ranges file %q (%v)", ranges, err)
	}
	m.mustRun(nil, "net-down")
	if got := m.routes(); got != machineRoutes {
		t.Fatalf("routes after down:\n%s\nwant as before up:\n%s", got, machineRoutes)
	}
	if _, err := os.Stat(filepath.Join(m.clusterDir, "routes")); !os.IsNotExist(err) {
		t.Fatalf("the list of added routes outlives down: %v", err)
	}
	// A second down changes nothing.
	m.mustRun(nil, "net-down")
	if calls := m.read("calls"); strings.Count(calls, "route del") != 2 {
		t.Fatalf("calls:\n%s", calls)
	}
}

// The environment overrides the ranges.
func TestRangesFromTheEnvironment(t *testing.T) {
	t.Parallel()
	m := newMachine(t, machineRoutes, machineAddrs)
	env := []string{"IOMESH_SERVICE_CIDR=198.51.100.0/24", "IOMESH_POD_CIDR=203.0.113.0/24"}
	m.mustRun(env, "net-up")
	if got := m.recorded(); got != "198.51.100.0/24\n203.0.113.0/24\n" {
		t.Fatalf("recorded %q", got)
	}
	m.mustRun(env, "net-down")
	if got := m.routes(); got != machineRoutes {
		t.Fatalf("routes after down:\n%s", got)
	}
}

// A route that was there before is left alone: not recorded, not removed.
func TestRouteAlreadyThereIsLeftAlone(t *testing.T) {
	before := machineRoutes + "unreachable 198.18.0.0/16\n"
	t.Parallel()
	m := newMachine(t, before, machineAddrs)
	out := m.mustRun(nil, "net-up")
	if got := m.recorded(); got != "198.19.0.0/16\n" {
		t.Fatalf("recorded %q, want only the route this run added", got)
	}
	if !strings.Contains(out, "198.18.0.0/16 were already there: left as they are") {
		t.Fatalf("does not say it leaves the route alone:\n%s", out)
	}
	m.mustRun(nil, "net-down")
	if got := m.routes(); got != before {
		t.Fatalf("routes after down:\n%s\nwant\n%s", got, before)
	}
}

// A run in the same directory that never came down left its routes listed there: the next run
// takes them over, so its down removes them.
func TestRoutesOfARunThatNeverCameDown(t *testing.T) {
	t.Parallel()
	m := newMachine(t, machineRoutes, machineAddrs)
	m.mustRun(nil, "net-up")
	m.mustRun(nil, "net-up")
	if got := m.recorded(); got != "198.18.0.0/16\n198.19.0.0/16\n" {
		t.Fatalf("recorded %q", got)
	}
	m.mustRun(nil, "net-down")
	if got := m.routes(); got != machineRoutes {
		t.Fatalf("routes after down:\n%s", got)
	}
}

// A range that overlaps a route or an address of the machine is refused before anything
// changes, naming the overlap: a proxy in fake-IP mode (Clash's TUN), an office network.
func TestOverlapsAreRefused(t *testing.T) {
	t.Parallel()
	clash := machineRoutes + "198.18.0.0/16 dev Meta proto kernel scope link src 198.18.0.1\n" +
		"default dev Meta table 2022\n"
	cases := []struct {
		name, routes, addrs string
		env                 []string
		want                []string
	}{
		{"Clash's fake-IP range", clash, machineAddrs + "7: Meta    inet 198.18.0.1/16 brd 198.18.255.255 scope global Meta\n", nil,
			[]string{"the Service range (IOMESH_SERVICE_CIDR) 198.18.0.0/16 overlaps the route '198.18.0.0/16 dev Meta proto kernel scope link src 198.18.0.1'",
				"overlaps the address 198.18.0.1/16 on Meta", "IOMESH_SERVICE_CIDR and IOMESH_POD_CIDR", "Nothing was changed"}},
		{"Surge's /15 in another table", machineRoutes + "198.18.0.0/15 dev utun4 table 100\n", machineAddrs, nil,
			[]string{"the Service range (IOMESH_SERVICE_CIDR) 198.18.0.0/16 overlaps the route '198.18.0.0/15 dev utun4 table 100'",
				"the pod range (IOMESH_POD_CIDR) 198.19.0.0/16 overlaps the route '198.18.0.0/15 dev utun4 table 100'"}},
		{"a blackhole inside the pod range", machineRoutes + "blackhole 198.19.7.0/24\n", machineAddrs, nil,
			[]string{"the pod range (IOMESH_POD_CIDR) 198.19.0.0/16 overlaps the route 'blackhole 198.19.7.0/24'"}},
		{"an office network", machineRoutes + "10.0.0.0/8 via 192.0.2.254 dev eth0\n", machineAddrs,
			[]string{"IOMESH_SERVICE_CIDR=10.96.0.0/16", "IOMESH_POD_CIDR=10.0.0.0/16"},
			[]string{"overlaps the route '10.0.0.0/8 via 192.0.2.254 dev eth0'"}},
		{"the machine's own address", machineRoutes, machineAddrs, []string{"IOMESH_POD_CIDR=192.0.2.0/25"},
			[]string{"the pod range (IOMESH_POD_CIDR) 192.0.2.0/25 overlaps the address 192.0.2.2/24 on eth0"}},
		{"ranges that overlap each other", machineRoutes, machineAddrs, []string{"IOMESH_POD_CIDR=198.18.4.0/24"},
			[]string{"the Service range (IOMESH_SERVICE_CIDR) 198.18.0.0/16 and the pod range (IOMESH_POD_CIDR) 198.18.4.0/24 overlap"}},
		{"not a network", machineRoutes, machineAddrs, []string{"IOMESH_SERVICE_CIDR=198.18.0.1/16"},
			[]string{"198.18.0.1/16 is not an IPv4 network"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := newMachine(t, c.routes, c.addrs)
			// What a previous cluster left in the directory stays.
			if err := os.MkdirAll(m.clusterDir, 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(m.clusterDir, "kept"), "x", 0o644)
			out, code := m.run(c.env, "net-up")
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			if calls := m.read("calls"); calls != "" {
				t.Fatalf("changed routes though it refused:\n%s", calls)
			}
			if got := m.routes(); got != c.routes {
				t.Fatalf("routes changed:\n%s", got)
			}
			if _, err := os.Stat(filepath.Join(m.clusterDir, "kept")); err != nil {
				t.Fatalf("the cluster directory was recreated though it refused: %v", err)
			}
		})
	}
	// The default route, in any table, is no overlap: it is where an address goes without one.
	m := newMachine(t, machineRoutes+"default dev Meta table 2022\n", machineAddrs)
	m.mustRun(nil, "net-up")
	m.mustRun(nil, "net-down")
}

// Without root or password-less sudo, no route changes: the run says once that calls to the
// cluster's addresses time out here, and goes on.
func TestWithoutRootItSaysSoOnceAndGoesOn(t *testing.T) {
	t.Parallel()
	m := newMachine(t, machineRoutes, machineAddrs)
	out := m.mustRun([]string{"IOMESH_UNPRIVILEGED=1"}, "net-up")
	if n := strings.Count(out, "times out instead of failing at once"); n != 1 {
		t.Fatalf("said %d times that calls time out, want once:\n%s", n, out)
	}
	for _, w := range []string{"IOMESH_UNPRIVILEGED is set: no unreachable routes", "198.18.0.0/16 (Services)", "198.19.0.0/16 (pods)", "going on"} {
		if !strings.Contains(out, w) {
			t.Errorf("lacks %q:\n%s", w, out)
		}
	}
	if calls := m.read("calls"); calls != "" {
		t.Fatalf("changed routes without privilege:\n%s", calls)
	}
	if b, err := os.ReadFile(filepath.Join(m.clusterDir, "no-routes")); err != nil || !strings.Contains(string(b), "times out") {
		t.Fatalf("no-routes %q (%v)", b, err)
	}
	m.mustRun([]string{"IOMESH_UNPRIVILEGED=1"}, "net-down")
	if got := m.routes(); got != machineRoutes {
		t.Fatalf("routes:\n%s", got)
	}
}

// Run as a user (nobody) when the test runs as root: no route changes, the run says so once and
// goes on, and kwok gets an unprivileged user namespace where this kernel allows one.
func TestAsAUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs as root, to become a user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv")
	}
	m := newMachine(t, machineRoutes, machineAddrs)
	// The user reaches the test's directory (t.TempDir's parent is the owner's only).
	if err := os.Chmod(filepath.Dir(m.dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{m.dir, m.bin} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"routes", "addrs"} {
		if err := os.Chmod(filepath.Join(m.dir, f), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	asUser := func(cmd string) (string, int) {
		c := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "bash", filepath.Join("..", "..", "hack", "cluster.sh"), cmd)
		c.Env = append(os.Environ(), "PATH="+m.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"FAKE_IP_DIR="+m.dir, "IOMESH_TEST_CLUSTER_DIR="+m.clusterDir, "HOME="+m.dir,
			"IOMESH_SERVICE_CIDR=", "IOMESH_POD_CIDR=", "IOMESH_UNPRIVILEGED=")
		out, err := c.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	// What a user may do here, asked of the kernel directly.
	userns := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		"unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /opt").Run() == nil
	if _, err := exec.LookPath("sudo"); err == nil && exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "sudo", "-n", "true").Run() == nil {
		t.Skip("nobody has password-less sudo here")
	}

	out, code := asUser("net-up")
	if code != 0 {
		t.Fatalf("net-up as a user: exit %d\n%s", code, out)
	}
	if n := strings.Count(out, "no root and no password-less sudo: no unreachable routes"); n != 1 {
		t.Fatalf("said %d times that there are no routes, want once:\n%s", n, out)
	}
	if calls := m.read("calls"); calls != "" {
		t.Fatalf("changed routes as a user:\n%s", calls)
	}
	_, err = os.Stat(filepath.Join(m.clusterDir, "no-exec"))
	if userns && err == nil {
		t.Fatalf("this kernel allows a user namespace, yet kwok gets none:\n%s", out)
	}
	if !userns && (err != nil || !strings.Contains(out, "kubectl exec into them fails")) {
		t.Fatalf("this kernel allows no user namespace, and the run does not say so (%v):\n%s", err, out)
	}
	if out, code := asUser("net-down"); code != 0 {
		t.Fatalf("net-down as a user: exit %d\n%s", code, out)
	}
	if got := m.routes(); got != machineRoutes {
		t.Fatalf("routes:\n%s", got)
	}
}
