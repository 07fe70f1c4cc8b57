package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krew search cuts shortDescription at 50 characters; caveats are for extra steps only.
func TestKrewListing(t *testing.T) {
	for _, path := range []string{"../../.krew.yaml", "../../plugins/iomesh.yaml"} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The template's {{ ... }} actions are not YAML; the fields read here have none.
			var doc struct {
				Spec struct {
					ShortDescription string `json:"shortDescription"`
					Caveats          string `json:"caveats"`
				} `json:"spec"`
			}
			var kept []string
			for _, l := range strings.Split(string(b), "\n") {
				if !strings.Contains(l, "{{") {
					kept = append(kept, l)
				}
			}
			if err := yaml.Unmarshal([]byte(strings.Join(kept, "\n")), &doc); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if n := len(doc.Spec.ShortDescription); n == 0 || n > 50 {
				t.Errorf("%s: shortDescription is %d characters", path, n)
			}
			if strings.Contains(doc.Spec.Caveats, "rbac") {
				t.Errorf("%s: RBAC belongs in the README, not the caveats", path)
			}
		})
	}
}
