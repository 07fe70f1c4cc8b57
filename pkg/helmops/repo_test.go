package helmops

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/helmpath"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// chartRepo serves the stand-in chart's archive and an index.yaml that lists it under the
// given versions (each pointing at the same archive, with digest as the index's digest).
type chartRepo struct {
	srv     *httptest.Server
	archive []byte
	sum     string
	index   func(base string) string
}

func newChartRepo(t *testing.T) *chartRepo {
	t.Helper()
	ch, err := loader.Load("../../deploy/charts/iomesh")
	if err != nil {
		t.Fatal(err)
	}
	path, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := &chartRepo{}
	if r.archive, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(r.archive)
	r.sum = hex.EncodeToString(s[:])
	r.index = func(string) string { return indexYAML("iomesh", "charts/iomesh-v1.0.1.tgz", r.sum, "1.0.0", "v1.0.1") }
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/index.yaml":
			_, _ = w.Write([]byte(r.index("http://" + req.Host)))
		case "/charts/iomesh-v1.0.1.tgz":
			_, _ = w.Write(r.archive)
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func indexYAML(name, url, digest string, versions ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nentries:\n  %s:\n", name)
	for _, v := range versions {
		fmt.Fprintf(&b, "  - name: %s\n    version: %s\n    apiVersion: v2\n    digest: %q\n", name, v, digest)
		if url != "" {
			fmt.Fprintf(&b, "    urls:\n    - %s\n", url)
		}
	}
	return b.String()
}

// finder is a Finder whose Helm repositories are the given name -> index pairs (an index ""
// means the repository was added but its index is not cached).
func finder(t *testing.T, repoURL string, indexes map[string]string) *Finder {
	t.Helper()
	dir := t.TempDir()
	s := cli.New()
	s.RepositoryConfig = filepath.Join(dir, "repositories.yaml")
	s.RepositoryCache = filepath.Join(dir, "cache")
	if err := os.MkdirAll(s.RepositoryCache, 0o755); err != nil {
		t.Fatal(err)
	}
	rf := repo.NewFile()
	for _, name := range []string{"a-stale", "b-other", "c-iomesh"} {
		idx, ok := indexes[name]
		if !ok {
			continue
		}
		rf.Add(&repo.Entry{Name: name, URL: repoURL})
		if idx != "" {
			if err := os.WriteFile(filepath.Join(s.RepositoryCache, helmpath.CacheIndexFile(name)), []byte(idx), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(indexes) > 0 {
		if err := rf.WriteFile(s.RepositoryConfig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &Finder{Settings: s, Getters: getter.All(s)}
}

func TestFromRepositoriesSearchesEveryRepository(t *testing.T) {
	r := newChartRepo(t)
	f := finder(t, r.srv.URL, map[string]string{
		"a-stale":  "",
		"b-other":  indexYAML("iomesh", "charts/x.tgz", r.sum, "v0.9.0", "v1.1.0"),
		"c-iomesh": r.index(r.srv.URL),
	})
	src, err := f.FromRepositories(Want{Name: "iomesh", Version: "v1.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if src.Chart.Metadata.Version != "v1.0.1" || src.Description != "repository c-iomesh ("+r.srv.URL+"/charts/iomesh-v1.0.1.tgz)" {
		t.Fatalf("source %q, version %s", src.Description, src.Chart.Metadata.Version)
	}
	fresh, err := src.Fresh()
	if err != nil || fresh == src.Chart || fresh.Metadata.Version != "v1.0.1" {
		t.Fatalf("Fresh must load a new copy of the download: %v", err)
	}

	// The same repositories without the one that has it: every one is named with what it has.
	f = finder(t, r.srv.URL, map[string]string{"a-stale": "", "b-other": indexYAML("iomesh", "charts/x.tgz", r.sum, "v1.1.0", "v0.9.0")})
	_, err = f.FromRepositories(Want{Name: "iomesh", Version: "v1.0.1"})
	var nf *ChartNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want ChartNotFoundError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"chart iomesh version v1.0.1, the one deployed, was not found",
		"searched repository a-stale has no cached index: run `helm repo update a-stale`; repository b-other (iomesh versions: v0.9.0, v1.1.0)",
		"helm repo add iomesh",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in %q", want, msg)
		}
	}

	// No repositories at all.
	_, err = finder(t, r.srv.URL, nil).FromRepositories(Want{Name: "iomesh", Version: "v1.0.1"})
	if err == nil || !strings.Contains(err.Error(), "(no Helm repositories are configured)") {
		t.Fatalf("err = %v", err)
	}
}

func TestFromRepoURL(t *testing.T) {
	r := newChartRepo(t)
	f := finder(t, r.srv.URL, nil)
	// A semantic version equal to the deployed one matches ("1.0.1" and "v1.0.1").
	r.index = func(string) string { return indexYAML("iomesh", "charts/iomesh-v1.0.1.tgz", r.sum, "1.0.1") }
	if src, err := f.FromRepoURL(r.srv.URL+"/", Want{Name: "iomesh", Version: "v1.0.1"}); err != nil || src.Chart.Metadata.Version != "v1.0.1" {
		t.Fatalf("semver-equal version: %v", err)
	}
	r.index = func(string) string { return indexYAML("iomesh", "charts/iomesh-v1.0.1.tgz", r.sum, "v1.0.1") }
	src, err := f.FromRepoURL(r.srv.URL, Want{Name: "iomesh", Version: "v1.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src.Description, "repository --repo ("+r.srv.URL+"/charts/iomesh-v1.0.1.tgz)") {
		t.Fatalf("description %q", src.Description)
	}

	for name, tc := range map[string]struct {
		index, want string
	}{
		"newer only":     {indexYAML("iomesh", "charts/iomesh-v1.0.1.tgz", r.sum, "v1.1.0"), "versions: v1.1.0"},
		"no such chart":  {indexYAML("other", "charts/iomesh-v1.0.1.tgz", r.sum, "v1.0.1"), "versions: none"},
		"no URL":         {indexYAML("iomesh", "", r.sum, "v1.0.1"), "lists iomesh-v1.0.1 without a download URL"},
		"stale digest":   {indexYAML("iomesh", "charts/iomesh-v1.0.1.tgz", strings.Repeat("0", 64), "v1.0.1"), "does not match the digest in its index"},
		"missing file":   {indexYAML("iomesh", "charts/gone.tgz", r.sum, "v1.0.1"), "downloading iomesh-v1.0.1 from repository --repo"},
		"broken index":   {"entries: [", "chart repository " + r.srv.URL},
		"not an archive": {indexYAML("iomesh", "index.yaml", "", "v1.0.1"), "loading " + r.srv.URL + "/index.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			idx := tc.index
			r.index = func(string) string { return idx }
			if _, err := f.FromRepoURL(r.srv.URL, Want{Name: "iomesh", Version: "v1.0.1"}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err = %v, want %q", name, err, tc.want)
			}
		})
	}
	if _, err := f.FromRepoURL(r.srv.URL+"/nowhere", Want{Name: "iomesh", Version: "v1.0.1"}); err == nil || !strings.Contains(err.Error(), "reading the index of chart repository") {
		t.Fatalf("no index: %v", err)
	}
	if _, err := f.FromRepoURL("ftp://example.invalid/charts", Want{Name: "iomesh", Version: "v1.0.1"}); err == nil || !strings.Contains(err.Error(), "no way to download") {
		t.Fatalf("unknown scheme: %v", err)
	}
}
