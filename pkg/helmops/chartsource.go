// This file finds the exact chart a release was deployed from, with its subcharts:
// from a path or URL the user names, or from the user's Helm repositories, as `helm search repo`
// sees them. The copy Helm stores in a release lacks the subchart bodies, so it is never used.

package helmops

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/action"
	ci "helm.sh/helm/v4/pkg/chart"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/helmpath"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// Want names the chart to find.
type Want struct {
	Name    string
	Version string
}

// Source says where a chart came from.
type Source struct {
	Chart       *chart.Chart `json:"-"`
	Description string       `json:"description"`
	load        func() (*chart.Chart, error)
}

// Fresh loads another copy of the chart. Helm prunes disabled subcharts from the chart it is
// given, so every render and the upgrade get their own copy.
func (s *Source) Fresh() (*chart.Chart, error) {
	if s.load == nil {
		return s.Chart, nil
	}
	return s.load()
}

// ChartNotFoundError says no configured source has the chart.
type ChartNotFoundError struct {
	Want     Want
	Searched []string
}

func (e *ChartNotFoundError) Error() string {
	searched := "no Helm repositories are configured"
	if len(e.Searched) > 0 {
		searched = "searched " + strings.Join(e.Searched, "; ")
	}
	return fmt.Sprintf("chart %s version %s, the one deployed, was not found (%s). Make it available with `helm repo add iomesh http://iomesh.com/charts && helm repo update`, or pass --chart with the chart's .tgz or directory (offline installs ship it as ./charts/iomesh)",
		e.Want.Name, e.Want.Version, searched)
}

// Finder locates charts. Settings carry the Helm repository config and cache paths.
type Finder struct {
	Settings *cli.EnvSettings
	Getters  getter.Providers
}

// NewFinder uses the Helm environment (HELM_REPOSITORY_CONFIG, HELM_REPOSITORY_CACHE, ...).
func NewFinder() *Finder {
	s := cli.New()
	return &Finder{Settings: s, Getters: getter.All(s)}
}

// Locate finds want at path (a .tgz, a directory or a URL) when given, else in the repository
// at repoURL when given, else in the Helm repositories configured.
func (f *Finder) Locate(path, repoURL string, want Want) (*Source, error) {
	switch {
	case path != "":
		return f.FromPath(path, want)
	case repoURL != "":
		return f.FromRepoURL(repoURL, want)
	}
	return f.FromRepositories(want)
}

// FromPath loads a chart from a .tgz, a directory or an http(s) URL, and checks it.
func (f *Finder) FromPath(ref string, want Want) (*Source, error) {
	var load func() (*chart.Chart, error)
	if u, perr := url.Parse(ref); perr == nil && (u.Scheme == "http" || u.Scheme == "https") {
		data, derr := f.download(ref, nil)
		if derr != nil {
			return nil, fmt.Errorf("downloading --chart %s: %w", ref, derr)
		}
		load = func() (*chart.Chart, error) { return loader.LoadArchive(bytes.NewReader(data)) }
	} else {
		if _, serr := os.Stat(ref); serr != nil {
			return nil, fmt.Errorf("--chart %s: %w", ref, serr)
		}
		load = func() (*chart.Chart, error) { return loader.Load(ref) }
	}
	ch, err := load()
	if err != nil {
		return nil, fmt.Errorf("loading --chart %s: %w", ref, err)
	}
	if err := Verify(ch, want); err != nil {
		return nil, fmt.Errorf("--chart %s: %w", ref, err)
	}
	return &Source{Chart: ch, Description: ref, load: load}, nil
}

// FromRepoURL finds the chart in the repository at repoURL (its index.yaml fetched now).
func (f *Finder) FromRepoURL(repoURL string, want Want) (*Source, error) {
	entry := &repo.Entry{Name: "--repo", URL: strings.TrimSuffix(repoURL, "/")}
	data, err := f.download(entry.URL+"/index.yaml", entry)
	if err != nil {
		return nil, fmt.Errorf("reading the index of chart repository %s: %w", repoURL, err)
	}
	idx, err := loadIndex(data)
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", repoURL, err)
	}
	cv := find(idx, want)
	if cv == nil {
		return nil, &ChartNotFoundError{Want: want, Searched: []string{fmt.Sprintf("%s (versions: %s)", repoURL, versions(idx, want.Name))}}
	}
	return f.fetch(entry, cv, want)
}

// FromRepositories searches every configured repository's cached index, as `helm search repo`.
func (f *Finder) FromRepositories(want Want) (*Source, error) {
	rf, err := repo.LoadFile(f.Settings.RepositoryConfig)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading the Helm repositories (%s): %w", f.Settings.RepositoryConfig, err)
	}
	nf := &ChartNotFoundError{Want: want}
	if rf == nil {
		return nil, nf
	}
	for _, entry := range rf.Repositories {
		path := filepath.Join(f.Settings.RepositoryCache, helmpath.CacheIndexFile(entry.Name))
		idx, err := repo.LoadIndexFile(path)
		if err != nil {
			nf.Searched = append(nf.Searched, fmt.Sprintf("repository %s has no cached index: run `helm repo update %s`", entry.Name, entry.Name))
			continue
		}
		cv := find(idx, want)
		if cv == nil {
			nf.Searched = append(nf.Searched, fmt.Sprintf("repository %s (%s versions: %s)", entry.Name, want.Name, versions(idx, want.Name)))
			continue
		}
		return f.fetch(entry, cv, want)
	}
	return nil, nf
}

// find returns the exact version, never a newer one.
func find(idx *repo.IndexFile, want Want) *repo.ChartVersion {
	wantSV, wantErr := semver.NewVersion(want.Version)
	for _, cv := range idx.Entries[want.Name] {
		if cv.Version == want.Version {
			return cv
		}
		if wantErr == nil {
			if sv, err := semver.NewVersion(cv.Version); err == nil && sv.Equal(wantSV) {
				return cv
			}
		}
	}
	return nil
}

func versions(idx *repo.IndexFile, name string) string {
	var vs []string
	for _, cv := range idx.Entries[name] {
		vs = append(vs, cv.Version)
	}
	if len(vs) == 0 {
		return "none"
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

func (f *Finder) fetch(entry *repo.Entry, cv *repo.ChartVersion, want Want) (*Source, error) {
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("repository %s lists %s-%s without a download URL", entry.Name, want.Name, want.Version)
	}
	u, err := repo.ResolveReferenceURL(entry.URL, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", entry.Name, err)
	}
	data, err := f.download(u, entry)
	if err != nil {
		return nil, fmt.Errorf("downloading %s-%s from repository %s: %w", want.Name, want.Version, entry.Name, err)
	}
	if cv.Digest != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != cv.Digest {
			return nil, fmt.Errorf("%s from repository %s does not match the digest in its index (%s, got %s): the repository cache may be stale, run `helm repo update`", u, entry.Name, cv.Digest, got)
		}
	}
	load := func() (*chart.Chart, error) { return loader.LoadArchive(bytes.NewReader(data)) }
	ch, err := load()
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", u, err)
	}
	if err := Verify(ch, want); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return &Source{Chart: ch, Description: fmt.Sprintf("repository %s (%s)", entry.Name, u), load: load}, nil
}

func (f *Finder) download(u string, entry *repo.Entry) ([]byte, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	g, err := f.Getters.ByScheme(parsed.Scheme)
	if err != nil {
		return nil, fmt.Errorf("no way to download %s: %w", u, err)
	}
	opts := []getter.Option{getter.WithURL(u)}
	if entry != nil {
		opts = append(opts,
			getter.WithBasicAuth(entry.Username, entry.Password),
			getter.WithPassCredentialsAll(entry.PassCredentialsAll),
			getter.WithTLSClientConfig(entry.CertFile, entry.KeyFile, entry.CAFile),
			getter.WithInsecureSkipVerifyTLS(entry.InsecureSkipTLSVerify),
		)
	}
	buf, err := g.Get(u, opts...)
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func loadIndex(data []byte) (*repo.IndexFile, error) {
	tmp, err := os.CreateTemp("", "iomesh-index-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	tmp.Close()
	return repo.LoadIndexFile(tmp.Name())
}

// Verify checks that ch is the wanted chart and version and carries every subchart it declares.
func Verify(ch *chart.Chart, want Want) error {
	if ch.Metadata == nil {
		return fmt.Errorf("not a chart (no Chart.yaml)")
	}
	if ch.Metadata.Name != want.Name {
		return fmt.Errorf("is chart %q, but the release was deployed from %q", ch.Metadata.Name, want.Name)
	}
	if ch.Metadata.Version != want.Version {
		return fmt.Errorf("is version %s, but the release runs %s; a scale never changes the chart version (that is an IOMesh upgrade, with its own procedure)", ch.Metadata.Version, want.Version)
	}
	deps := make([]ci.Dependency, len(ch.Metadata.Dependencies))
	for i, d := range ch.Metadata.Dependencies {
		deps[i] = d
	}
	if err := action.CheckDependencies(ch, deps); err != nil {
		return fmt.Errorf("is incomplete: subcharts %w; upgrading with it would delete their objects", err)
	}
	return nil
}
