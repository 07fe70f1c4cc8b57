package inventory

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
)

// testPods are full pods, with much the room rules do not read.
func testPods() []corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	cpu := func(q string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}}
	}
	return []corev1.Pod{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "x", Labels: map[string]string{"big": "yes"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}},
			Spec: corev1.PodSpec{
				NodeName:       "n1",
				Volumes:        []corev1.Volume{{Name: "v"}},
				Containers:     []corev1.Container{{Name: "c", Image: "i", Resources: cpu("2")}},
				InitContainers: []corev1.Container{{Name: "side", RestartPolicy: &always, Resources: cpu("500m")}},
				Overhead:       corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				Resources:      &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
				Priority:       new(int32),
			},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		},
		{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "y"}, Spec: corev1.PodSpec{NodeName: "n2", Containers: []corev1.Container{{Name: "c"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending}},
	}
}

// protobufList encodes pods as kube-apiserver answers a list in protobuf.
func protobufList(t *testing.T, pods ...corev1.Pod) []byte {
	t.Helper()
	list := corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: pods}
	raw, err := list.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	u := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: "v1", Kind: "PodList"}, Raw: raw, ContentType: "application/vnd.kubernetes.protobuf"}
	body, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{0x6b, 0x38, 0x73, 0x00}, body...)
}

// server answers the two streamed lists the way kube-apiserver does.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/pods":
			if r.URL.Query().Get("fieldSelector") != "status.phase!=Succeeded,status.phase!=Failed" || r.URL.Query().Get("resourceVersion") != "0" {
				t.Errorf("query %s", r.URL.RawQuery)
			}
			if strings.Contains(r.Header.Get("Accept"), "as=Table") {
				// The pods per node: rows only, never the objects.
				if r.URL.Query().Get("includeObject") != "None" {
					t.Errorf("the pods per node asked for with objects: %s", r.URL.RawQuery)
				}
				fmt.Fprint(w, `{"kind":"Table","apiVersion":"meta.k8s.io/v1","columnDefinitions":[{"name":"Name"},{"name":"Node"}],
				  "rows":[{"cells":["a","n1"]},{"cells":["b","n2"]},{"cells":["c","n1"]},{"cells":["d","<none>"]}]}`)
				return
			}
			if !strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.kubernetes.protobuf") {
				t.Errorf("pods asked for as %q", r.Header.Get("Accept"))
			}
			w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf")
			_, _ = w.Write(protobufList(t, testPods()...))
		case r.URL.Path == "/apis/apps/v1/namespaces/labelled/statefulsets":
			fmt.Fprint(w, `{"kind":"StatefulSetList","apiVersion":"apps/v1","items":[
			  {"metadata":{"name":"iomesh-chunk"},"spec":{"selector":{"matchLabels":{"app":"iomesh-chunk"}}}},
			  {"metadata":{"name":"iomesh-meta"},"spec":{"selector":{"matchLabels":{"app":"iomesh-meta"}}}}]}`)
		case r.URL.Path == "/api/v1/namespaces/labelled/pods":
			// Only the StatefulSets' pods are asked for, by their controller's label.
			if got := r.URL.Query().Get("labelSelector"); got != StatefulSetPodLabel {
				t.Errorf("pods listed with selector %q", got)
			}
			fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","items":[
			  {"metadata":{"name":"iomesh-chunk-0","labels":{"app":"iomesh-chunk"}}},
			  {"metadata":{"name":"iomesh-meta-0","labels":{"app":"iomesh-meta"}}},
			  {"metadata":{"name":"iomesh-chunk-1","labels":{"app":"someone-else"}}}]}`)
		case r.URL.Path == "/apis/apps/v1/namespaces/table-states/statefulsets":
			fmt.Fprint(w, `{"kind":"StatefulSetList","apiVersion":"apps/v1","items":[]}`)
		case r.URL.Path == "/api/v1/namespaces/table-states/pods":
			// The pods themselves, in protobuf where the server speaks it: never the Table.
			if accept := r.Header.Get("Accept"); strings.Contains(accept, "as=Table") || !strings.HasPrefix(accept, "application/vnd.kubernetes.protobuf") {
				t.Errorf("the chunk and meta pods asked for as %q", accept)
			}
			body, err := os.ReadFile("../output/testdata/server-podlist.json")
			if err != nil {
				t.Error(err)
			}
			_, _ = w.Write(body)
		case strings.HasSuffix(r.URL.Path, "/namespaces/iomesh-system/blockdevices"):
			fmt.Fprint(w, `{"kind":"BlockDeviceList","items":[{"metadata":{"name":"bd-1","labels":{"iomesh.com/bd-driverType":"SSD"}},
			  "spec":{"nodeAttributes":{"nodeName":"n1"},"path":"/dev/sdb","capacity":{"storage":429496729600},"filesystem":{}},"status":{"claimState":"Unclaimed","state":"Active"}}]}`)
		case strings.HasSuffix(r.URL.Path, "/namespaces/forbidden/blockdevices"):
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStreamedLists(t *testing.T) {
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: server(t).URL})
	if err != nil {
		t.Fatal(err)
	}
	r := Reader{Kube: kube}
	pods, err := r.RunningPods(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 || pods[0].Spec.NodeName != "n1" || pods[0].Labels != nil || pods[0].Spec.Containers[0].Image != "" {
		t.Fatalf("pods not slimmed: %+v", pods)
	}
	if cpu := pods[0].Spec.Containers[0].Resources.Requests.Cpu().String(); cpu != "2" || *pods[0].Spec.InitContainers[0].RestartPolicy != corev1.ContainerRestartPolicyAlways ||
		pods[0].Spec.InitContainers[0].Resources.Requests.Cpu().String() != "500m" || pods[0].Spec.Overhead.Cpu().String() != "100m" ||
		pods[0].Spec.Resources.Requests.Memory().String() != "1Gi" || pods[0].Status.Phase != corev1.PodRunning || pods[1].Status.Phase != corev1.PodPending ||
		pods[0].Name != "a" || pods[0].Namespace != "x" || pods[1].Spec.NodeName != "n2" {
		t.Fatalf("what the room rules read was lost: %+v", pods)
	}
	// Nothing else is kept.
	if pods[0].Spec.Volumes != nil || pods[0].ManagedFields != nil || pods[0].Status.PodIP != "" || pods[0].Status.Conditions != nil || pods[0].Spec.Priority != nil {
		t.Fatalf("more than the room rules read was kept: %+v", pods[0])
	}
	items, missing, err := r.BlockDevices(context.Background(), "iomesh-system")
	if err != nil || missing != nil {
		t.Fatal(err, missing)
	}
	devs := placement.BlockDevicesFrom(items)
	if len(devs) != 1 || devs[0].Node != "n1" || devs[0].Bytes != 400<<30 || devs[0].Labels["iomesh.com/bd-driverType"] != "SSD" || devs[0].ClaimState != "Unclaimed" {
		t.Fatalf("devices %+v", devs)
	}
	if _, missing, err := r.BlockDevices(context.Background(), "no-crd"); err != nil || missing.Reason != NotInstalled || !strings.Contains(missing.Text, "not installed") {
		t.Fatalf("404: %v %q", err, missing)
	}
	if _, missing, err := r.BlockDevices(context.Background(), "forbidden"); err != nil || missing.Reason != NotPermitted || !strings.Contains(missing.Text, "you may not list") {
		t.Fatalf("403: %v %q", err, missing)
	}
}

// The decoded pods equal the slimmed typed pods, and broken streams are errors, never panics.
func TestDecodePodStream(t *testing.T) {
	body := protobufList(t, testPods()...)
	var got []corev1.Pod
	if err := decodePodStream(bytes.NewReader(body), func(p corev1.Pod) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	want := testPods()
	for i := range want {
		if w := slimmed(&want[i]); !equality.Semantic.DeepEqual(got[i], w) {
			t.Errorf("pod %d:\n got %+v\nwant %+v", i, got[i], w)
		}
	}
	empty := protobufList(t)
	if err := decodePodStream(bytes.NewReader(empty), func(corev1.Pod) { t.Error("a pod from an empty list") }); err != nil {
		t.Fatalf("empty list: %v", err)
	}
	for name, b := range map[string][]byte{
		"json":            []byte(`{"kind":"PodList"}`),
		"magic only":      body[:4],
		"cut in a pod":    body[:len(body)/2],
		"cut in a length": body[:7],
		"no list":         append([]byte{0x6b, 0x38, 0x73, 0x00}, 0x1a, 0x01, 'x'),
		"bad wire type":   append([]byte{0x6b, 0x38, 0x73, 0x00}, 0x0f),
	} {
		t.Run(name, func(t *testing.T) {
			if err := decodePodStream(bytes.NewReader(b), func(corev1.Pod) {}); err == nil {
				t.Errorf("%s: accepted", name)
			}
		})
	}
}

func BenchmarkDecodePodStream(b *testing.B) {
	t := &testing.T{}
	pods := make([]corev1.Pod, 0, 5000)
	for i := 0; i < 5000; i++ {
		p := testPods()[0]
		p.Name = fmt.Sprintf("pod-%d", i)
		pods = append(pods, p)
	}
	body := protobufList(t, pods...)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := decodePodStream(bytes.NewReader(body), func(corev1.Pod) { n++ }); err != nil || n != 5000 {
			b.Fatal(err, n)
		}
	}
}

// The chunk and meta pods are the pods themselves, found by name here (no StatefulSets), and
// read with the protobuf client the plugin makes.
func TestComponentsWithoutStatefulSets(t *testing.T) {
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: server(t).URL, ContentConfig: rest.ContentConfig{
		ContentType: "application/vnd.kubernetes.protobuf", AcceptContentTypes: "application/vnd.kubernetes.protobuf,application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	chunk, meta, err := Reader{Kube: kube, Namespace: "table-states", Release: "tbl"}.Components(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(chunk.Pods) != 3 || len(meta.Pods) != 0 || chunk.FoundBy != "name" {
		t.Fatalf("chunk %d pods by %s, meta %d", len(chunk.Pods), chunk.FoundBy, len(meta.Pods))
	}
	if chunk.Pods[2].Name != "tbl-chunk-2" || len(chunk.Pods[2].Status.ContainerStatuses) != 2 {
		t.Fatalf("pods not read in full: %+v", chunk.Pods[2])
	}
}

// With both StatefulSets present, one list of the namespace's StatefulSet pods (started before
// their selectors are known) is enough; each component keeps the pods its selector matches.
func TestComponentsByStatefulSetLabel(t *testing.T) {
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: server(t).URL})
	if err != nil {
		t.Fatal(err)
	}
	chunk, meta, err := Reader{Kube: kube, Namespace: "labelled", Release: "iomesh"}.Components(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(chunk.Pods) != 1 || chunk.Pods[0].Name != "iomesh-chunk-0" || len(meta.Pods) != 1 || chunk.FoundBy != "selector" {
		t.Fatalf("chunk %v by %s, meta %v", chunk.Pods, chunk.FoundBy, meta.Pods)
	}
}

func TestRunningPodsPerNode(t *testing.T) {
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: server(t).URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Reader{Kube: kube}.RunningPodsPerNode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["n1"] != 2 || got["n2"] != 1 {
		t.Fatalf("pods per node %v", got)
	}
	// The fake clientset ignores field selectors: finished and unscheduled pods are left out here.
	pod := func(name, node string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "x"}, Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	}
	fakeKube := fake.NewSimpleClientset(pod("a", "n1", corev1.PodRunning), pod("b", "n1", corev1.PodPending), pod("c", "n1", corev1.PodSucceeded),
		pod("d", "n2", corev1.PodFailed), pod("e", "", corev1.PodPending), pod("f", "n3", corev1.PodRunning))
	got, err = Reader{Kube: fakeKube}.RunningPodsPerNode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["n1"] != 2 || got["n3"] != 1 {
		t.Fatalf("pods per node from the fake %v", got)
	}
}
