// Package buildinfo holds what the build stamped into the binary (-ldflags -X). It imports no
// other package of this module (depguard).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped at build time; the defaults describe an unstamped build (go run, go test).
var (
	version = "v0.0.0-dev"
	commit  = ""
	date    = ""
)

// Info describes this binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	BuildDate string `json:"buildDate,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// HelmSDK is the version of the Helm Go SDK built in, as Go recorded it.
	HelmSDK string `json:"helmSDK,omitempty"`
}

// helmModule is the Helm SDK's module path.
const helmModule = "helm.sh/helm/v4"

// UserAgent is how requests identify the plugin: kubectl-iomesh/<version> (<os>/<arch>) <commit>.
func (i Info) UserAgent() string {
	commit := i.Commit
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("kubectl-iomesh/%s (%s) %s", i.Version, i.Platform, commit)
}

// Get returns the stamped information, falling back to the VCS data Go records itself.
func Get() Info {
	i := Info{Version: version, Commit: commit, BuildDate: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == helmModule {
				i.HelmSDK = d.Version
				if d.Replace != nil {
					i.HelmSDK = d.Replace.Version
				}
			}
		}
		if i.Commit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					i.Commit = s.Value
				case "vcs.time":
					if i.BuildDate == "" {
						i.BuildDate = s.Value
					}
				}
			}
		}
	}
	return i
}
