package iomeshcluster

import (
	"net/netip"
	"sort"
	"strings"
)

// FibTrie is the file that lists a network namespace's addresses in any Linux container:
// chunk pods use the node's network, so it holds the node's storage address.
const FibTrie = "/proc/net/fib_trie"

// LocalAddresses reads the IPv4 addresses the kernel marks LOCAL in /proc/net/fib_trie: an
// address line ("|-- 10.234.1.5") followed by a "/32 host LOCAL" line. Loopback addresses are
// left out, and each address is listed once (the Main and Local tables both carry them).
func LocalAddresses(fibTrie string) []string {
	seen := map[string]bool{}
	last := ""
	for _, line := range strings.Split(fibTrie, "\n") {
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, "|-- "); ok {
			last = strings.TrimSpace(rest)
			continue
		}
		if strings.HasPrefix(t, "+--") {
			last = ""
			continue
		}
		f := strings.Fields(t)
		if last == "" || len(f) < 3 || f[0] != "/32" || f[len(f)-1] != "LOCAL" {
			continue
		}
		a, err := netip.ParseAddr(last)
		if err != nil || !a.Is4() || a.IsLoopback() {
			continue
		}
		seen[a.String()] = true
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
