package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
)

// ErrNotReported says the IOMeshCluster carries no chunkSummary: an IOMesh version that does not
// report registration, where readiness of the pods is all there is to wait for.
var ErrNotReported = errors.New("status.summary.chunkSummary is " + iomeshcluster.NotReported)

// Storage waits, by watching the IOMeshCluster, until IOMesh reports a healthy chunk on every
// wanted node: a chunk pod that runs has not necessarily joined the storage cluster.
type Storage struct {
	Dynamic   dynamic.Interface
	Namespace string
	Name      string
	// Nodes and ChunkPods match chunks to nodes by IP where IOMesh reports no nodename.
	Nodes     []corev1.Node
	ChunkPods []corev1.Pod
	Progress  io.Writer
	// Brief, when set, says in a few words what preflight saw on a node ("" or "ok": nothing).
	Brief func(node string) string
}

// StorageOutcome is IOMesh's view when the wait ended, and the nodes still waited for.
type StorageOutcome struct {
	View    iomeshcluster.View
	Missing []string
}

// named lists nodes, each with what preflight saw there when it saw something.
func (s Storage) named(nodes []string) string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n
		if s.Brief != nil {
			if b := s.Brief(n); b != "" && b != "ok" {
				out[i] += " (" + b + ")"
			}
		}
	}
	return strings.Join(out, ", ")
}

// Wait blocks until every node in nodes has a healthy chunk, ctx ends, or IOMesh turns out not
// to report chunks at all (ErrNotReported).
func (s Storage) Wait(ctx context.Context, nodes []string) (StorageOutcome, error) {
	var out StorageOutcome
	res := s.Dynamic.Resource(iomeshcluster.GVR).Namespace(s.Namespace)
	sel := fields.OneTermEqualSelector("metadata.name", s.Name).String()
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return res.Watch(ctx, o)
		},
	}, s.Dynamic)
	shown := ""
	check := func(obj *unstructured.Unstructured) (bool, error) {
		c, err := iomeshcluster.FromUnstructured(obj)
		if err != nil {
			return false, err
		}
		v := iomeshcluster.ViewOf(c)
		if !v.Summary {
			return false, ErrNotReported
		}
		v.Match(s.Nodes, s.ChunkPods)
		ok, missing := v.Serving(nodes)
		out = StorageOutcome{View: v, Missing: missing}
		line := fmt.Sprintf("IOMesh reports %d healthy chunks", v.Healthy())
		if len(missing) > 0 {
			line += "; waiting for chunks on " + s.named(missing)
		}
		if s.Progress != nil && line != shown {
			shown = line
			fmt.Fprintln(s.Progress, line)
		}
		return ok, nil
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, func(store cache.Store) (bool, error) {
		for _, o := range store.List() {
			if u, ok := o.(*unstructured.Unstructured); ok {
				return check(u)
			}
		}
		return false, nil
	}, func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || ev.Type == watch.Deleted {
			return false, nil
		}
		return check(u)
	})
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, ErrNotReported):
		return out, ErrNotReported
	case errors.Is(ctx.Err(), context.Canceled):
		return out, ErrInterrupted
	case ctx.Err() != nil || wait.Interrupted(err):
		return out, ErrTimeout
	}
	return out, err
}
