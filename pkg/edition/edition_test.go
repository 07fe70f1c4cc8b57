package edition

import (
	"fmt"
	"testing"
)

func TestResolveOrder(t *testing.T) {
	ent := "iomesh/zbs-chunkd:v5.3.0-rc13-enterprise"
	com := "iomesh/zbs-chunkd:v5.3.0-rc13-community-hygon"
	cases := []struct {
		name string
		in   Inputs
		want Result
	}{
		{"values first", Inputs{Values: "enterprise", Spec: "community", License: "COMMUNITY", Images: []string{com}}, Result{Enterprise, SourceValues, "enterprise"}},
		{"spec second", Inputs{Values: "", Spec: "Enterprise", License: "COMMUNITY", Images: []string{com}}, Result{Enterprise, SourceSpec, "Enterprise"}},
		{"licence third", Inputs{Values: "bogus", License: "ENTERPRICE", Images: []string{com}}, Result{Enterprise, SourceLicense, "ENTERPRICE"}},
		{"image fourth", Inputs{Images: []string{"busybox", ent}}, Result{Enterprise, SourceImage, ent}},
		{"image community hygon", Inputs{Images: []string{com}}, Result{Community, SourceImage, com}},
		{"nothing is community", Inputs{Images: []string{"iomesh/zbs-chunkd:v5.3.0"}}, Result{Community, SourceDefault, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Resolve(tc.in); got != tc.want {
				t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
			}
		})
	}
}

func TestFromImage(t *testing.T) {
	cases := map[string]Edition{
		"registry:5000/iomesh/zbs-metad:v5.6.0-rc112-enterprise":              Enterprise,
		"iomesh/zbs-metad:v5.6.0-rc112-enterprise@sha256:abc":                 Enterprise,
		"registry:5000/iomesh/zbs-metad":                                      "",
		"iomesh/zbs-metad:latest":                                             "",
		"docker.io/iomesh/zbs-chunkd:v5.3.0-rc13-community":                   Community,
		"my-enterprise-registry:5000/iomesh/zbs-chunkd:v5.3.0-rc13-community": Community,
	}
	for img, want := range cases {
		t.Run(img, func(t *testing.T) {
			if got := FromImage(img); got != want {
				t.Errorf("FromImage(%q) = %q, want %q", img, got, want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	if Enterprise.MaxChunk() != 255 || Community.MaxChunk() != 3 || Edition("").MaxChunk() != 3 {
		t.Fatal("chunk limits")
	}
	if Enterprise.MaxMeta() != 5 || Community.MaxMeta() != 3 {
		t.Fatal("meta limits")
	}
	for n, ok := range map[int]bool{2: false, 3: true, 4: false, 5: true, 6: false} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if MetaAllowed(n) != ok {
				t.Errorf("MetaAllowed(%d) = %v", n, !ok)
			}
		})
	}
}

func TestFromImageEdges(t *testing.T) {
	for img, want := range map[string]Edition{
		":v1-enterprise":                      Enterprise, // a colon first still has a tag
		"@sha256:v1-enterprise":               "",         // a digest alone has no tag
		"iomesh/zbs:v5-enterprise@sha256:abc": Enterprise,
		"registry:5000/iomesh/zbs":            "", // a port is not a tag
		"iomesh/zbs:v5-COMMUNITY-HYGON":       Community,
	} {
		t.Run(img, func(t *testing.T) {
			if got := FromImage(img); got != want {
				t.Errorf("FromImage(%q) = %q, want %q", img, got, want)
			}
		})
	}
}
