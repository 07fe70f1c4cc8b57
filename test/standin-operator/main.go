// Command standin-operator stands in for the closed-source IOMesh operator in the demo and the
// end-to-end tests. It does not run storage. It reports on each IOMeshCluster what the real
// operator reports (the v1.0.1 status schema): readyReplicas, chunks registering with the meta
// service a few seconds after their pods turn Ready, the meta leader (status and the
// iomesh.com/meta-leader pod label), capacity per chunk and for the cluster, and a licence.
//
// Faults on demand, through annotations on the IOMeshCluster:
//
//	standin.iomesh.com/task-in-process: "<text>"   reported as status.taskInProcess
//	standin.iomesh.com/no-leader: "true"            no meta leader anywhere
//	standin.iomesh.com/no-summary: "true"           no status.summary (an older operator)
//	standin.iomesh.com/used-data: "<capacity>"      the cluster's usedDataSpace (a full cluster)
//	standin.iomesh.com/omit-chunks: "<id>,..."      chunkSummary leaves these registered chunks out
//
// Chunks being unregistered (standin.iomesh.com/unregister, written by the stand-in iomeshctl)
// drain over standin.iomesh.com/drain-seconds (default 4): their used space falls to 0, then
// they leave chunkSummary.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/test/standin/drain"
)

var gvr = iomeshcluster.GVR

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	flag.DurationVar(&o.interval, "interval", 500*time.Millisecond, "how often to reconcile")
	flag.DurationVar(&o.registerAfter, "register-after", 3*time.Second, "how long after its pod is Ready a chunk registers")
	flag.IntVar(&o.licenseChunks, "license-max-chunk", 0, "publish an Enterprise subscription licence for this many chunk pods where none is published (0: none)")
	flag.BoolVar(&o.nodename, "report-nodename", false, "report chunks[].nodename, as IOMesh versions after 1.0.1 do")
	flag.BoolVar(&o.storageNetwork, "storage-network", false, "register each chunk at its pod's storage-network address (10.234.1.x), as IOMesh 1.0.1 does, not at the pod IP")
	flag.StringVar(&o.record, "record", "", "append to this file when a chunk's data has left (LEFT <id>) and when a chunk pod goes while its chunk is registered (LOST <pod> <id>)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "standin-operator:", err)
		os.Exit(1)
	}
}

type options struct {
	kubeconfig    string
	interval      time.Duration
	registerAfter time.Duration
	licenseChunks int
	nodename      bool
	// storageNetwork and record: see the flags.
	storageNetwork bool
	record         string
}

func run(o options) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &reconciler{kube: kube, dyn: dyn, o: o, readySince: map[string]time.Time{}, registered: map[string]int64{}, left: map[string]bool{}}
	fmt.Fprintln(os.Stderr, "standin-operator: reporting IOMeshCluster status")
	t := time.NewTicker(o.interval)
	defer t.Stop()
	for {
		if err := r.once(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "standin-operator:", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type reconciler struct {
	kube kubernetes.Interface
	dyn  dynamic.Interface
	o    options
	// readySince is when each chunk pod (namespace/name) was first seen Ready.
	readySince map[string]time.Time
	// registered is the chunk each chunk pod (namespace/name) had registered at the last
	// reconcile; left the chunks (namespace/id) whose data has left.
	registered map[string]int64
	left       map[string]bool
}

// note appends a line to the record file.
func (r *reconciler) note(format string, a ...interface{}) {
	if r.o.record == "" {
		return
	}
	f, err := os.OpenFile(r.o.record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin-operator:", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, a...))
}

// witness records what really happened to the chunks since the last reconcile: a drain that
// ended, and a chunk pod that went (or is being deleted) while its chunk is registered.
func (r *reconciler) witness(ns string, pods []corev1.Pod, in Input, out Output) {
	for _, e := range in.Drains {
		key := fmt.Sprintf("%s/%d", ns, e.ID)
		if e.Left(in.Now, in.DrainFor) == 0 && !r.left[key] {
			r.left[key] = true
			r.note("LEFT %d", e.ID)
		}
	}
	live := map[string]bool{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			live[ns+"/"+p.Name] = true
		}
	}
	for key, id := range r.registered {
		if !strings.HasPrefix(key, ns+"/") || live[key] {
			continue
		}
		if !r.left[fmt.Sprintf("%s/%d", ns, id)] {
			r.note("LOST %s %d", strings.TrimPrefix(key, ns+"/"), id)
		}
		delete(r.registered, key)
	}
	for pod, id := range out.Registered {
		if live[ns+"/"+pod] {
			r.registered[ns+"/"+pod] = id
			delete(r.left, fmt.Sprintf("%s/%d", ns, id)) // registered again: a new pod of that ordinal
		}
	}
}

func (r *reconciler) once(ctx context.Context) error {
	list, err := r.dyn.Resource(gvr).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing IOMeshClusters: %w", err)
	}
	for i := range list.Items {
		cr, err := iomeshcluster.FromUnstructured(&list.Items[i])
		if err != nil {
			return err
		}
		if err := r.reconcile(ctx, cr); err != nil {
			return err
		}
	}
	return nil
}

func (r *reconciler) reconcile(ctx context.Context, cr *iomeshcluster.IOMeshCluster) error {
	ns, name := cr.Namespace, cr.Name
	if err := r.ensureStatefulSets(ctx, cr); err != nil {
		return err
	}
	pods, err := r.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing pods in %s: %w", ns, err)
	}
	now := time.Now()
	in := Input{Name: name, Faults: faultsOf(cr.Annotations), RegisterAfter: r.o.registerAfter, ReportNodename: r.o.nodename, Now: now,
		Drains: drain.Parse(cr.Annotations[drain.Annotation]), DrainFor: drain.Duration(cr.Annotations), StorageNetwork: r.o.storageNetwork}
	for _, p := range pods.Items {
		key := ns + "/" + p.Name
		ready := output.PodReady(&p)
		if !ready {
			delete(r.readySince, key)
		} else if _, ok := r.readySince[key]; !ok {
			r.readySince[key] = now
		}
		in.Pods = append(in.Pods, PodState{Name: p.Name, Node: p.Spec.NodeName, HostIP: p.Status.HostIP, PodIP: p.Status.PodIP, Ready: ready, ReadySince: r.readySince[key], Leader: p.Labels[LeaderLabel] != ""})
	}
	attached, err := r.claimDisks(ctx, cr, pods.Items)
	if err != nil {
		return err
	}
	in.NodeDisks = map[string]Disks{}
	for _, a := range attached {
		m := a.(map[string]interface{})
		d := in.NodeDisks[m["nodeName"].(string)]
		gib := int(m["bytes"].(int64) >> 30)
		if m["mountType"] == placement.CacheWithJournal {
			d.CacheGiB += gib
		} else {
			d.DataGiB += gib
		}
		in.NodeDisks[m["nodeName"].(string)] = d
		delete(m, "bytes")
	}
	if err := r.forgetDrains(ctx, cr, in); err != nil {
		return err
	}
	out := Compute(in)
	r.witness(ns, pods.Items, in, out)
	status := map[string]interface{}{
		"attachedDevices": attached,
		"readyReplicas":   out.ReadyReplicas,
		"taskInProcess":   out.TaskInProcess,
		"summary":         out.Summary,
	}
	if out.Summary == nil {
		status["summary"] = nil
	}
	if (cr.Status == nil || cr.Status.License == nil) && r.o.licenseChunks > 0 {
		status["license"] = map[string]interface{}{
			"licenseType": "SUBSCRIPTION", "softwareEdition": "ENTERPRISE", "maxChunkNum": r.o.licenseChunks,
			"expirationDate": now.AddDate(1, 0, 0).UTC().Format("2006-01-02"), "maxPhysicalDataCapacity": "0",
		}
	}
	patch, err := json.Marshal(map[string]interface{}{"status": status})
	if err != nil {
		return err
	}
	if _, err := r.dyn.Resource(gvr).Namespace(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("patching the status of %s/%s: %w", ns, name, err)
	}
	for pod, lead := range out.LeaderLabels {
		val := "null"
		if lead {
			val = `"true"`
		}
		p := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, LeaderLabel, val))
		if _, err := r.kube.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, p, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("labelling %s/%s: %w", ns, pod, err)
		}
	}
	return nil
}

// forgetDrains drops the record of an unregistered chunk once its pod is gone, so that a pod
// of that ordinal added later registers again.
func (r *reconciler) forgetDrains(ctx context.Context, cr *iomeshcluster.IOMeshCluster, in Input) error {
	if len(in.Drains) == 0 {
		return nil
	}
	exists := map[string]bool{}
	for _, p := range in.Pods {
		exists[p.Name] = true
	}
	var keep []drain.Entry
	for _, e := range in.Drains {
		if exists[fmt.Sprintf("%s-chunk-%d", cr.Name, e.ID-1)] {
			keep = append(keep, e)
		}
	}
	if len(keep) == len(in.Drains) {
		return nil
	}
	val := "null"
	if len(keep) > 0 {
		val = fmt.Sprintf("%q", drain.Format(keep))
	}
	// Only over the version read: the stand-in iomeshctl may have added a drain since.
	patch := []byte(fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"annotations":{%q:%s}}}`, cr.ResourceVersion, drain.Annotation, val))
	_, err := r.dyn.Resource(gvr).Namespace(cr.Namespace).Patch(ctx, cr.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsConflict(err) {
		return nil // the next pass sees the new version
	}
	return err
}

// claimDisks claims, as IOMesh does, the BlockDevices the deviceMap selects on every node that
// runs a Ready chunk pod, and returns them as status.attachedDevices. Without the BlockDevice
// API it claims nothing.
func (r *reconciler) claimDisks(ctx context.Context, cr *iomeshcluster.IOMeshCluster, pods []corev1.Pod) ([]interface{}, error) {
	attached := []interface{}{}
	ns := cr.Namespace
	if other := cr.BlockDeviceNamespace(); other != "" {
		ns = other
	}
	list, err := r.dyn.Resource(placement.BlockDeviceGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return attached, nil
	}
	m := placement.DeviceMapFromSpec(cr.Spec)
	devs := placement.BlockDevicesFrom(list.Items)
	prefix := cr.Name + "-chunk-"
	for i := range pods {
		p := &pods[i]
		if !strings.HasPrefix(p.Name, prefix) || !output.PodReady(p) {
			continue
		}
		for _, claimed := range []bool{false, true} {
			var nd placement.NodeDisks
			if claimed {
				nd, err = placement.MountedDisks(m, devs, p.Spec.NodeName)
			} else {
				nd, err = placement.DisksForNewChunk(m, devs, p.Spec.NodeName)
			}
			if err != nil {
				return attached, nil
			}
			mountTypes := make([]string, 0, len(nd.ByType))
			for t := range nd.ByType {
				mountTypes = append(mountTypes, t)
			}
			sort.Strings(mountTypes)
			for _, mountType := range mountTypes {
				for _, d := range nd.ByType[mountType] {
					if !claimed {
						patch := []byte(`{"status":{"claimState":"Claimed"}}`)
						if _, err := r.dyn.Resource(placement.BlockDeviceGVR).Namespace(ns).Patch(ctx, d.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
							return nil, fmt.Errorf("claiming %s: %w", d.Name, err)
						}
						continue
					}
					attached = append(attached, map[string]interface{}{"device": d.Path, "mountType": mountType, "nodeName": d.Node, "uuid": d.Name, "bytes": d.Bytes})
				}
			}
		}
	}
	return attached, nil
}
