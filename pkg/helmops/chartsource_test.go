package helmops

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

func TestFromPathChecksTheVersion(t *testing.T) {
	f := NewFinder()
	const dir = "../../deploy/charts/iomesh"
	src, err := f.FromPath(dir, Want{Name: "iomesh", Version: "v1.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if src.Description != dir || src.Chart.Metadata.Version != "v1.0.1" {
		t.Fatalf("source %+v", src)
	}
	fresh, err := src.Fresh()
	if err != nil || fresh == src.Chart {
		t.Fatalf("Fresh must load a new copy: %v", err)
	}
	for want, msg := range map[Want]string{
		{Name: "iomesh", Version: "v1.1.0"}: "is version v1.0.1, but the release runs v1.1.0",
		{Name: "other", Version: "v1.0.1"}:  `is chart "iomesh", but the release was deployed from "other"`,
	} {
		if _, err := f.FromPath(dir, want); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%+v: err = %v", want, err)
		}
	}
	if _, err := f.FromPath("/nonexistent/chart", Want{Name: "iomesh", Version: "v1.0.1"}); err == nil || !strings.Contains(err.Error(), "--chart /nonexistent/chart") {
		t.Errorf("missing path: %v", err)
	}
}

func TestVerifyNeedsSubcharts(t *testing.T) {
	ch := &chart.Chart{Metadata: &chart.Metadata{Name: "iomesh", Version: "v1", APIVersion: "v2",
		Dependencies: []*chart.Dependency{{Name: "csi-driver", Version: "1"}}}}
	if err := Verify(ch, Want{Name: "iomesh", Version: "v1"}); err == nil || !strings.Contains(err.Error(), "csi-driver") {
		t.Fatalf("err = %v", err)
	}
	if err := Verify(&chart.Chart{}, Want{}); err == nil || !strings.Contains(err.Error(), "no Chart.yaml") {
		t.Fatalf("err = %v", err)
	}
}

// --chart with an http(s) URL downloads the archive (as the offline package's chart served from
// a web server); a URL that does not answer is named in the error.
func TestFromPathDownloadsURLs(t *testing.T) {
	ch, err := loader.Load("../../deploy/charts/iomesh")
	if err != nil {
		t.Fatal(err)
	}
	archive, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/iomesh-v1.0.1.tgz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	f := NewFinder()
	src, err := f.FromPath(srv.URL+"/iomesh-v1.0.1.tgz", Want{Name: "iomesh", Version: "v1.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if src.Chart.Metadata.Version != "v1.0.1" || len(src.Chart.Dependencies()) == 0 {
		t.Fatalf("downloaded chart %+v", src.Chart.Metadata)
	}
	if _, err := f.FromPath(srv.URL+"/missing.tgz", Want{Name: "iomesh", Version: "v1.0.1"}); err == nil || !strings.Contains(err.Error(), "downloading --chart "+srv.URL+"/missing.tgz") {
		t.Fatalf("missing URL: %v", err)
	}
}
