package placement

import (
	"math"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func objs(t *testing.T, docs ...string) []unstructured.Unstructured {
	t.Helper()
	var out []unstructured.Unstructured
	for _, d := range docs {
		var m map[string]interface{}
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, unstructured.Unstructured{Object: m})
	}
	return out
}

func bd(name, node, driver, fs, claim, state string, size int) string {
	return `{metadata: {name: ` + name + `, labels: {kubernetes.io/hostname: ` + node + `, iomesh.com/bd-driverType: ` + driver + `}},
  spec: {nodeAttributes: {nodeName: ` + node + `}, capacity: {storage: ` + itoa(size) + `}, filesystem: {fsType: "` + fs + `"}, path: /dev/x},
  status: {claimState: ` + claim + `, state: ` + state + `}}`
}

func itoa(i int) string {
	s := ""
	if i == 0 {
		return "0"
	}
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

const hybrid = `spec:
  diskDeploymentMode: hybridFlash
  chunk:
    deviceMap:
      cacheWithJournal: {selector: {matchLabels: {iomesh.com/bd-driverType: SSD}}}
      dataStore:
        selector: {matchExpressions: [{key: iomesh.com/bd-driverType, operator: In, values: [HDD]}]}
        exclude: [bd-excluded]
`

func mapOf(t *testing.T, spec string) DeviceMap {
	t.Helper()
	var obj map[string]interface{}
	if err := yaml.Unmarshal([]byte(spec), &obj); err != nil {
		t.Fatal(err)
	}
	c, err := iomeshcluster.FromObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return DeviceMapFromSpec(c.Spec)
}

func TestForNewChunk(t *testing.T) {
	m := mapOf(t, hybrid)
	devs := BlockDevicesFrom(objs(t,
		bd("bd-ssd", "n1", "SSD", "", "Unclaimed", "Active", 400<<20),
		bd("bd-hdd", "n1", "HDD", "", "Unclaimed", "Active", 2<<30),
		bd("bd-formatted", "n1", "HDD", "ext4", "Unclaimed", "Active", 2<<30),
		bd("bd-excluded", "n1", "HDD", "", "Unclaimed", "Active", 2<<30),
		bd("bd-claimed", "n1", "HDD", "", "Claimed", "Active", 2<<30),
		bd("bd-inactive", "n1", "HDD", "", "Unclaimed", "Inactive", 2<<30),
		bd("bd-other-node", "n2", "SSD", "", "Unclaimed", "Active", 400<<20),
	))
	n1, err := DisksForNewChunk(m, devs, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if n1.Count() != 2 || len(n1.ByType[CacheWithJournal]) != 1 || n1.ByType[DataStore][0].Name != "bd-hdd" || len(n1.Lacking) != 0 {
		t.Fatalf("n1: %+v", n1)
	}
	if n1.Bytes != 400<<20+2<<30 || n1.Describe() != "cacheWithJournal: bd-ssd 400Mi; dataStore: bd-hdd 2Gi" {
		t.Fatalf("n1: %d %q", n1.Bytes, n1.Describe())
	}
	n2, _ := DisksForNewChunk(m, devs, "n2")
	if strings.Join(n2.Lacking, ",") != DataStore {
		t.Fatalf("n2 lacks %v", n2.Lacking)
	}
	n3, _ := DisksForNewChunk(m, devs, "n3")
	if n3.Count() != 0 || n3.Describe() != "no usable disk" || len(n3.Lacking) != 2 {
		t.Fatalf("n3: %+v", n3)
	}
	mounted, _ := MountedDisks(m, devs, "n1")
	if mounted.Count() != 1 || mounted.ByType[DataStore][0].Name != "bd-claimed" {
		t.Fatalf("mounted: %+v", mounted)
	}
}

func TestModesAndMaps(t *testing.T) {
	allFlash := mapOf(t, "spec: {diskDeploymentMode: allFlash, chunk: {deviceMap: {dataStoreWithJournal: {selector: {matchLabels: {iomesh.com/bd-driverType: SSD}}}}}}")
	if strings.Join(allFlash.Required(), ",") != DataStoreWithJournal {
		t.Fatalf("all-flash needs %v", allFlash.Required())
	}
	devs := BlockDevicesFrom(objs(t, bd("s", "nx", "SSD", "", "Unclaimed", "Active", 1<<40)))
	if nd, _ := DisksForNewChunk(allFlash, devs, "nx"); nd.Count() != 1 || len(nd.Lacking) != 0 {
		t.Fatalf("all-flash: %+v", nd)
	}
	empty := mapOf(t, "spec: {}")
	if !empty.Empty() || empty.Mode != HybridFlash {
		t.Fatalf("default: %+v", empty)
	}
	if nd, _ := DisksForNewChunk(empty, devs, "nx"); nd.Count() != 0 {
		t.Fatal("an empty deviceMap mounts nothing")
	}
	// A mount type without a selector mounts nothing.
	if nd, _ := DisksForNewChunk(mapOf(t, "spec: {chunk: {deviceMap: {dataStore: {exclude: [x]}}}}"), devs, "nx"); nd.Count() != 0 {
		t.Fatal("no selector, no disks")
	}
	var obj map[string]interface{}
	_ = yaml.Unmarshal([]byte("spec: {chunk: {deviceMap: {dataStore: 3}}}"), &obj)
	if _, err := iomeshcluster.FromObject(obj); err == nil {
		t.Fatal("a malformed deviceMap was accepted")
	}
	bad := mapOf(t, "spec: {chunk: {deviceMap: {dataStore: {selector: {matchExpressions: [{key: a, operator: Bogus}]}}}}}")
	if _, err := DisksForNewChunk(bad, devs, "nx"); err == nil {
		t.Fatal("an invalid selector was accepted")
	}
}

func TestNodeFromLabelAndHuman(t *testing.T) {
	devs := BlockDevicesFrom(objs(t, `{metadata: {name: a, labels: {kubernetes.io/hostname: n9}}, spec: {capacity: {storage: 5}}}`))
	if devs[0].Node != "n9" || devs[0].Bytes != 5 {
		t.Fatalf("%+v", devs[0])
	}
	for b, want := range map[int64]string{0: "0B", 1023: "1023B", 1536: "1.5Ki", 4 << 40: "4Ti", 1000204886016: "931.5Gi",
		1024: "1Ki", 1 << 50: "1Pi", math.MaxInt64: "8192Pi"} {
		if got := HumanBytes(b); got != want {
			t.Errorf("HumanBytes(%d) = %s, want %s", b, got, want)
		}
	}
}

// BlockDevices are listed by name whatever order the API returns them in.
func TestFromObjectsSortsByName(t *testing.T) {
	devs := BlockDevicesFrom(objs(t, bd("bd-c", "n1", "HDD", "", "Unclaimed", "Active", 3), bd("bd-a", "n1", "HDD", "", "Unclaimed", "Active", 1),
		bd("bd-b", "n2", "SSD", "", "Claimed", "Active", 2)))
	var names []string
	for _, d := range devs {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != "bd-a,bd-b,bd-c" || devs[0].Bytes != 1 {
		t.Fatalf("order %q", names)
	}
}
