package output

import (
	"bytes"
	"testing"
)

func TestRenderLikeKubectl(t *testing.T) {
	var b bytes.Buffer
	err := Render(&b, []string{"NAME", "READY", "STATUS"}, [][]string{
		{"iomesh-chunk-0", "3/3", "Running"},
		{"iomesh-chunk-10", "0/3", "Pending"},
		{"x", "", ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME              READY   STATUS\n" +
		"iomesh-chunk-0    3/3     Running\n" +
		"iomesh-chunk-10   0/3     Pending\n" +
		"x\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestRenderHeaderOnly(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, []string{"NAME", "AGE"}, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "NAME   AGE\n" {
		t.Fatalf("got %q", b.String())
	}
}
