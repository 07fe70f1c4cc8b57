package inventory

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/disks"
)

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
			fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[
			  {"metadata":{"name":"a","namespace":"x","labels":{"big":"yes"}},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"2"}}}],
			   "initContainers":[{"name":"side","restartPolicy":"Always","resources":{"requests":{"cpu":"500m"}}}],"overhead":{"cpu":"100m"}},"status":{"phase":"Running"}},
			  {"metadata":{"name":"b","namespace":"y"},"spec":{"nodeName":"n2","containers":[{"name":"c"}]},"status":{"phase":"Pending"}}]}`)
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
		pods[0].Spec.Overhead.Cpu().String() != "100m" || pods[1].Status.Phase != corev1.PodPending {
		t.Fatalf("what the room rules read was lost: %+v", pods)
	}
	items, missing, err := r.BlockDevices(context.Background(), "iomesh-system")
	if err != nil || missing != "" {
		t.Fatal(err, missing)
	}
	devs := disks.FromObjects(items)
	if len(devs) != 1 || devs[0].Node != "n1" || devs[0].Bytes != 400<<30 || devs[0].Labels["iomesh.com/bd-driverType"] != "SSD" || devs[0].ClaimState != "Unclaimed" {
		t.Fatalf("devices %+v", devs)
	}
	if _, missing, err := r.BlockDevices(context.Background(), "no-crd"); err != nil || !strings.Contains(missing, "not installed") {
		t.Fatalf("404: %v %q", err, missing)
	}
	if _, missing, err := r.BlockDevices(context.Background(), "forbidden"); err != nil || !strings.Contains(missing, "you may not list") {
		t.Fatalf("403: %v %q", err, missing)
	}
}
