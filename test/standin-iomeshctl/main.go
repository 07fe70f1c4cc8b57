// Command standin-iomeshctl stands in for /opt/iomesh/iomeshctl in the meta pods of the test
// cluster, where kwok runs `kubectl exec` as a local command. It answers the two commands the
// scale-in docs run, in their documented shapes:
//
//	iomeshctl chunk unregister <id>   asks IOMesh (the stand-in operator) to move the chunk's data
//	                                  away and drop it; returns when the chunk has left
//	                                  status.summary.chunkSummary
//	iomeshctl summary cluster         the recovery and migration counters, at several depths
//
// The request is an annotation on the namespace's IOMeshCluster (standin.iomesh.com/unregister:
// "<id>@<unix ms>,..."), which the stand-in operator drains. Faults, also annotations:
//
//	standin.iomesh.com/unregister-refused: "<message>"  unregister fails with that message
//	standin.iomesh.com/migrating: "true"                summary shows a migration in process
//	standin.iomesh.com/omit-chunks: "<id>,..."          the status leaves them out; meta still
//	                                                    knows them (unregister finds them)
//
// A second unregister while one is draining fails, as a busy meta would. Each invocation is
// appended to iomeshctl.log in the working directory, for the tests to read.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/test/standin/drain"
)

func main() {
	logCall(os.Args[1:])
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

func logCall(args []string) {
	f, err := os.OpenFile("iomeshctl.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(args, " "))
}

func run(args []string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ns := os.Getenv("IOMESH_NAMESPACE")
	ctx := context.Background()
	res := dyn.Resource(iomeshcluster.GVR).Namespace(ns)
	list, err := res.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		return fmt.Errorf("no IOMesh cluster in namespace %s (%v)", ns, err)
	}
	obj := &list.Items[0]
	switch {
	case len(args) == 2 && args[0] == "summary" && args[1] == "cluster":
		fmt.Print(summary(obj, time.Now()))
		return nil
	case len(args) == 3 && args[0] == "chunk" && args[1] == "unregister":
		id, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			return fmt.Errorf("invalid chunk id %q", args[2])
		}
		return unregister(ctx, res, obj, id)
	}
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}

func summary(obj *unstructured.Unstructured, now time.Time) string {
	ann := obj.GetAnnotations()
	ongoing, pending := 0, int64(0)
	for _, e := range drain.Parse(ann[drain.Annotation]) {
		if left := e.Left(now, drain.Duration(ann)); left > 0 {
			ongoing++
			pending += int64(left * float64(20<<30))
		}
	}
	if ann["standin.iomesh.com/migrating"] == "true" {
		ongoing++
		pending += 5 << 30
	}
	block := func(indent string) string {
		return fmt.Sprintf("%snum_ongoing_recovers: 0\n%snum_pending_recovers: 0\n%snum_ongoing_migrates: %d\n%snum_pending_migrates: 0\n%sspace_info:\n%s  pending_migrates_bytes: %d\n%s  pending_recovers_bytes: 0\n",
			indent, indent, indent, ongoing, indent, indent, indent, pending, indent)
	}
	return "cluster_summary:\n  num_chunks: 5\n" + block("  ") + "  zone_summary:\n  - zone: default\n" + block("    ")
}

func unregister(ctx context.Context, res dynamic.ResourceInterface, obj *unstructured.Unstructured, id int64) error {
	ann := obj.GetAnnotations()
	if msg := ann["standin.iomesh.com/unregister-refused"]; msg != "" {
		return fmt.Errorf("%s", msg)
	}
	cr, err := iomeshcluster.FromUnstructured(obj)
	if err != nil {
		return err
	}
	// Meta knows the chunks the status leaves out: those it omits and has not drained.
	listed := func(c *iomeshcluster.IOMeshCluster, ann map[string]string) bool {
		drained := false
		for _, e := range drain.Parse(ann[drain.Annotation]) {
			if e.ID == id && e.Left(time.Now(), drain.Duration(ann)) == 0 {
				drained = true
			}
		}
		if drain.Omitted(ann)[id] && !drained {
			return true
		}
		if c.Status == nil || c.Status.Summary.ChunkSummary == nil {
			return false
		}
		for _, ch := range c.Status.Summary.ChunkSummary.Chunks {
			if ch.ID.N == id {
				return true
			}
		}
		return false
	}
	if !listed(cr, ann) {
		return fmt.Errorf("chunk %d not found", id)
	}
	entries := drain.Parse(ann[drain.Annotation])
	for _, e := range entries {
		if e.Left(time.Now(), drain.Duration(ann)) > 0 {
			return fmt.Errorf("chunk %d is being removed: one chunk at a time", e.ID)
		}
	}
	entries = append(entries, drain.Entry{ID: id, Start: time.Now()})
	patch, _ := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
		"resourceVersion": obj.GetResourceVersion(),
		"annotations":     map[string]string{drain.Annotation: drain.Format(entries)},
	}})
	if _, err := res.Patch(ctx, obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return err
	}
	// Like the real command, return once the data has moved and the chunk is gone.
	for {
		time.Sleep(500 * time.Millisecond)
		o, err := res.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			continue
		}
		c, err := iomeshcluster.FromUnstructured(o)
		if err == nil && !listed(c, o.GetAnnotations()) {
			fmt.Printf("unregister chunk %d: done\n", id)
			return nil
		}
	}
}
