// This file waits for the chunk and meta pods of a target to be Ready, by watching them
// (client-go's UntilWithSync: one list, then a watch that resumes after API server restarts),
// and reports each change and each reason a pod is stuck.

package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
)

// Want is the number of pods named <Prefix>-0 .. <Prefix>-(Count-1) that must be Ready.
type Want struct {
	Prefix string
	Count  int
}

// Waiter waits for pods in one namespace.
type Waiter struct {
	Kube      kubernetes.Interface
	Namespace string
	// Selector narrows the watch (a label selector); empty watches the namespace.
	Selector string
	Wants    []Want
	Progress io.Writer
	// Live redraws a table of the wanted pods in place (a terminal) instead of one line per change.
	Live bool
	Now  func() time.Time

	live output.Live
}

// Outcome is the state when the wait ended.
type Outcome struct {
	Pods []corev1.Pod
	// Stuck explains pods that are not Ready (scheduling messages, container reasons).
	Stuck []string
}

// ErrTimeout and ErrInterrupted say why a wait ended early.
var (
	ErrTimeout     = errors.New("timed out waiting for the pods")
	ErrInterrupted = errors.New("interrupted while waiting for the pods")
)

func (w *Waiter) relevant(name string) (Want, int, bool) {
	for _, want := range w.Wants {
		if strings.HasPrefix(name, want.Prefix+"-") {
			if n := inventory.Ordinal(name); n >= 0 && name == fmt.Sprintf("%s-%d", want.Prefix, n) {
				return want, n, true
			}
		}
	}
	return Want{}, 0, false
}

// Satisfied reports whether pods satisfy every want.
func Satisfied(wants []Want, pods map[string]*corev1.Pod) bool {
	for _, want := range wants {
		for i := 0; i < want.Count; i++ {
			p, ok := pods[fmt.Sprintf("%s-%d", want.Prefix, i)]
			if !ok || !output.PodReady(p) {
				return false
			}
		}
	}
	return true
}

// Why is why a pod is not Ready, in the scheduler's or kubelet's words where they said something.
type Why struct {
	Pod    string
	Status string
	// Detail is the scheduler's or kubelet's message ("" when neither said anything).
	Detail string
	// Ready is the READY column, shown when there is no detail.
	Ready string
}

func (w Why) String() string {
	if w.Detail == "" {
		return fmt.Sprintf("%s %s (%s ready)", w.Pod, w.Status, w.Ready)
	}
	return fmt.Sprintf("%s %s: %s", w.Pod, w.Status, w.Detail)
}

// Explain says why a pod is not Ready.
func Explain(p *corev1.Pod, now time.Time) Why {
	row := output.PodRowOf(p, now)
	w := Why{Pod: p.Name, Status: row.Status, Ready: row.Ready}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			// The scheduler records the same words in a FailedScheduling event.
			// Text from the cluster is escaped: a crafted message must not drive the terminal.
			w.Detail = printers.EscapeTerminal(fmt.Sprintf("FailedScheduling (%s): %s", c.Reason, c.Message))
			return w
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil && cs.State.Waiting.Message != "" {
			w.Detail = printers.EscapeTerminal(fmt.Sprintf("%s: %s", cs.Name, cs.State.Waiting.Message))
			return w
		}
	}
	return w
}

// watchNodes reports nodes that turn NotReady (or Ready again) while the wait runs, naming the
// wanted pods they host.
func (w *Waiter) watchNodes(ctx context.Context, hosted func(node string) []string) {
	state := map[string]bool{}
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return w.Kube.CoreV1().Nodes().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return w.Kube.CoreV1().Nodes().Watch(ctx, o)
		},
	}, w.Kube)
	_, _ = watchtools.UntilWithSync(ctx, lw, &corev1.Node{}, nil, func(ev watch.Event) (bool, error) {
		n, ok := ev.Object.(*corev1.Node)
		if !ok || ev.Type == watch.Deleted {
			return false, nil
		}
		ready := false
		reason := "no Ready condition"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
				reason = printers.EscapeTerminal(strings.TrimSpace(c.Reason + " " + c.Message))
			}
		}
		was, seen := state[n.Name]
		state[n.Name] = ready
		if w.Progress == nil || (seen && was == ready) || (!seen && ready) {
			return false, nil
		}
		pods := hosted(n.Name)
		on := ""
		if len(pods) > 0 {
			on = " (runs " + strings.Join(pods, ", ") + ")"
		}
		if ready {
			fmt.Fprintf(w.Progress, "node %s is Ready again%s\n", n.Name, on)
		} else {
			fmt.Fprintf(w.Progress, "node %s is NotReady: %s%s\n", n.Name, reason, on)
		}
		return false, nil
	})
}

// Wait blocks until every wanted pod is Ready or ctx ends.
func (w *Waiter) Wait(ctx context.Context) (Outcome, error) {
	pods := map[string]*corev1.Pod{}
	shown := map[string]string{}
	w.live = output.Live{W: w.Progress}
	var mu sync.Mutex
	nodeCtx, stopNodes := context.WithCancel(ctx)
	defer stopNodes()
	go w.watchNodes(nodeCtx, func(node string) []string {
		mu.Lock()
		defer mu.Unlock()
		var names []string
		for _, p := range pods {
			if p.Spec.NodeName == node {
				names = append(names, p.Name)
			}
		}
		sort.Strings(names)
		return names
	})
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = w.Selector
			return w.Kube.CoreV1().Pods(w.Namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = w.Selector
			return w.Kube.CoreV1().Pods(w.Namespace).Watch(ctx, o)
		},
	}, w.Kube)
	// quiet is set for the pods first listed: those already Ready are no news, and the final
	// table shows them.
	report := func(p *corev1.Pod, deleted, quiet bool) {
		if w.Progress == nil {
			return
		}
		if w.Live {
			w.redraw(pods)
			return
		}
		line := "deleted"
		if !deleted {
			row := output.PodRowOf(p, w.Now())
			line = fmt.Sprintf("%s %s", row.Ready, row.Status)
			if row.Status == "Running" && !row.PodReady {
				line += " (pod not Ready)"
			}
			if !output.PodReady(p) {
				if why := Explain(p, w.Now()); why.Detail != "" {
					line += " (" + why.Detail + ")"
				}
			}
		}
		if shown[p.Name] != line {
			shown[p.Name] = line
			if quiet && !deleted && output.PodReady(p) {
				return
			}
			fmt.Fprintf(w.Progress, "%s  %s\n", p.Name, line)
		}
	}
	cond := func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		if _, _, rel := w.relevant(p.Name); !rel {
			return false, nil
		}
		mu.Lock()
		defer mu.Unlock()
		if ev.Type == watch.Deleted {
			delete(pods, p.Name)
			report(p, true, false)
		} else {
			pods[p.Name] = p
			report(p, false, false)
		}
		return Satisfied(w.Wants, pods), nil
	}
	// A wait that is already satisfied by the initial list ends at once.
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, func(store cache.Store) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		// The initial list is reported in name order, as kubectl lists pods.
		var listed []*corev1.Pod
		for _, obj := range store.List() {
			if p, ok := obj.(*corev1.Pod); ok {
				listed = append(listed, p)
			}
		}
		sort.Slice(listed, func(i, j int) bool { return listed[i].Name < listed[j].Name })
		for _, p := range listed {
			if _, _, rel := w.relevant(p.Name); rel {
				pods[p.Name] = p
				report(p, false, true)
			}
		}
		return Satisfied(w.Wants, pods), nil
	}, cond)
	stopNodes()
	mu.Lock()
	out := w.outcome(pods)
	mu.Unlock()
	switch {
	case err == nil:
		return out, nil
	case errors.Is(ctx.Err(), context.Canceled):
		return out, ErrInterrupted
	case ctx.Err() != nil || wait.Interrupted(err):
		return out, ErrTimeout
	}
	return out, err
}

// redraw replaces the live table with the current state of every wanted pod.
func (w *Waiter) redraw(pods map[string]*corev1.Pod) {
	now := w.Now()
	var rows []output.LiveRow
	for _, want := range w.Wants {
		for i := 0; i < want.Count; i++ {
			name := fmt.Sprintf("%s-%d", want.Prefix, i)
			p, ok := pods[name]
			if !ok {
				rows = append(rows, output.LiveRow{Name: name})
				continue
			}
			r := output.PodRowOf(p, now)
			lr := output.LiveRow{Name: name, Row: &r}
			if !output.PodReady(p) {
				if lr.Waiting = Explain(p, now).Detail; lr.Waiting == "" {
					lr.Waiting = "waiting"
				}
			}
			rows = append(rows, lr)
		}
	}
	_ = w.live.Draw(rows)
}

func (w *Waiter) outcome(pods map[string]*corev1.Pod) Outcome {
	var o Outcome
	for _, p := range pods {
		o.Pods = append(o.Pods, *p)
	}
	inventory.SortByOrdinal(o.Pods)
	sort.SliceStable(o.Pods, func(i, j int) bool {
		wi, _, _ := w.relevant(o.Pods[i].Name)
		wj, _, _ := w.relevant(o.Pods[j].Name)
		return w.index(wi) < w.index(wj)
	})
	now := w.Now()
	for _, want := range w.Wants {
		for i := 0; i < want.Count; i++ {
			name := fmt.Sprintf("%s-%d", want.Prefix, i)
			p, ok := pods[name]
			switch {
			case !ok:
				o.Stuck = append(o.Stuck, name+" does not exist yet")
			case !output.PodReady(p):
				o.Stuck = append(o.Stuck, Explain(p, now).String())
			}
		}
	}
	return o
}

func (w *Waiter) index(want Want) int {
	for i, x := range w.Wants {
		if x.Prefix == want.Prefix {
			return i
		}
	}
	return len(w.Wants)
}
