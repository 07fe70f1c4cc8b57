package cmd

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/helmops"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestMistypedCommandSuggests(t *testing.T) {
	_, _, err := runRoot(tf.NewClients(t, nil), "statsu")
	if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "Did you mean this?\n\tstatus") {
		t.Fatalf("err = %v", err)
	}
	_, _, err = runRoot(tf.NewClients(t, nil), "frobnicate")
	if exitcode.Of(err) != exitcode.Usage || strings.Contains(err.Error(), "Did you mean") {
		t.Fatalf("nothing close: %v", err)
	}
}

func TestRequestsCarryTheUserAgent(t *testing.T) {
	var agent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agent = r.UserAgent()
		http.NotFound(w, r)
	}))
	defer srv.Close()
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	c := NewCommon(streams)
	host := srv.URL
	c.ConfigFlags.APIServer = &host
	kube, err := c.Kube()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = kube.Discovery().ServerVersion()
	want := "kubectl-iomesh/v0.0.0-dev (" + runtime.GOOS + "/" + runtime.GOARCH + ") "
	if !strings.HasPrefix(agent, want) {
		t.Fatalf("User-Agent %q, want prefix %q", agent, want)
	}
}

func TestHelmDriver(t *testing.T) {
	flags := genericclioptions.NewConfigFlags(false)
	for driver, name := range map[string]string{"": "Secret", "configmap": "ConfigMap", "memory": "Memory"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := helmops.NewConfiguration(flags, "ns", driver, nil)
			if err != nil {
				t.Fatalf("%q: %v", driver, err)
			}
			if got := cfg.Releases.Name(); got != name {
				t.Errorf("HELM_DRIVER=%q gives %s, want %s", driver, got, name)
			}
		})
	}
	if _, err := helmops.NewConfiguration(flags, "ns", "floppy", nil); err == nil || !strings.Contains(err.Error(), `HELM_DRIVER="floppy" is not a Helm storage driver`) {
		t.Fatalf("err = %v", err)
	}
}
