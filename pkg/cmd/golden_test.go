package cmd

import (
	"context"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	fakediscovery "k8s.io/client-go/discovery/fake"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// loopbackURL is the chart repository's random address, masked in golden files.
var loopbackURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)

func TestScalePlanGolden(t *testing.T) {
	var bds []kruntime.Object
	for _, n := range []string{"node-3", "node-4"} {
		bds = append(bds, tf.BlockDevice(n+"-ssd", n, 400<<30, "SSD", "Unclaimed"), tf.BlockDevice(n+"-hdd", n, 4<<40, "HDD", "Unclaimed"))
	}
	e := newScaleEnv(t, 5, userValues())
	res := e.clients.Dynamic.Resource(iomeshcluster.GVR).Namespace(tf.Namespace)
	cr, err := res.Get(context.Background(), tf.Release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Update(context.Background(), tf.HybridDeviceMap(cr), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, bd := range bds {
		if err := e.clients.Dynamic.Tracker().Add(bd); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := e.run(t, "scale", "--chunk", "5", "--meta", "5", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "scale-plan", loopbackURL.ReplaceAllString(out, "http://REPO"))
	out, _, err = e.run(t, "scale", "--chunk", "5", "--meta", "5", "--dry-run", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "scale-plan-yaml", loopbackURL.ReplaceAllString(out, "http://REPO"))
}

func TestRenderGuardDiffGolden(t *testing.T) {
	e := newScaleEnv(t, 5, userValues())
	e.finder = chartRepo(t, republished)
	_, errOut, err := e.run(t, "scale", "--chunk", "5", "--yes", "--timeout", "0")
	if exitcode.Of(err) != exitcode.Refused {
		t.Fatalf("err = %v", err)
	}
	i := strings.Index(errOut, "The chart, rendered now")
	if i < 0 {
		t.Fatalf("no diff in:\n%s", errOut)
	}
	golden(t, "render-guard-diff", errOut[i:])
}

func TestVersionGolden(t *testing.T) {
	c := tf.NewClients(t, []tf.Rel{{Revision: 1}})
	c.Kube.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.36.3"}
	mask := func(s string) string {
		return strings.NewReplacer(runtime.Version(), "GOVERSION", runtime.GOOS+"/"+runtime.GOARCH, "OS/ARCH").Replace(s)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"version", nil},
		{"version-json", []string{"-o", "json"}},
		{"version-client", []string{"--client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runRoot(c, append([]string{"version"}, tc.args...)...)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			golden(t, tc.name, mask(out))
		})
	}
}

// runRoot runs `kubectl iomesh ARGS` over fixture clients.
func runRoot(c tf.Clients, args ...string) (string, string, error) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	common := NewCommon(streams)
	common.SetClients(c.Kube, c.Dynamic, c.Helm)
	common.Now = func() time.Time { return tf.Now }
	root := NewRoot(common)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}
