package inventory

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// Cluster-wide lists (every pod, every BlockDevice) are the largest reads: they are decoded as
// they stream in, keeping only the fields the room and disk rules read, so thousands of objects
// cost megabytes, not hundreds of them. (Measured against protobuf, which decodes faster but
// holds every full object at once: docs/benchmarks.md.)

// slimPod is what the room rules read of a pod.
type slimPod struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		NodeName       string                       `json:"nodeName"`
		Containers     []slimContainer              `json:"containers"`
		InitContainers []slimContainer              `json:"initContainers"`
		Overhead       corev1.ResourceList          `json:"overhead"`
		Resources      *corev1.ResourceRequirements `json:"resources"`
	} `json:"spec"`
	Status struct {
		Phase corev1.PodPhase `json:"phase"`
	} `json:"status"`
}

// slimContainer is what the room rules read of a container.
type slimContainer struct {
	Name          string                         `json:"name"`
	Resources     corev1.ResourceRequirements    `json:"resources"`
	RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy"`
}

func (s slimPod) pod() corev1.Pod {
	p := corev1.Pod{}
	p.Name, p.Namespace = s.Metadata.Name, s.Metadata.Namespace
	p.Spec.NodeName, p.Spec.Overhead, p.Spec.Resources, p.Status.Phase = s.Spec.NodeName, s.Spec.Overhead, s.Spec.Resources, s.Status.Phase
	for _, c := range s.Spec.Containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c.Name, Resources: c.Resources})
	}
	for _, c := range s.Spec.InitContainers {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: c.Name, Resources: c.Resources, RestartPolicy: c.RestartPolicy})
	}
	return p
}

// slimBlockDevice is what the disk rules read of a BlockDevice.
type slimBlockDevice struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		NodeAttributes struct {
			NodeName string `json:"nodeName"`
		} `json:"nodeAttributes"`
		Path     string `json:"path"`
		Capacity struct {
			Storage int64 `json:"storage"`
		} `json:"capacity"`
		Filesystem struct {
			FSType string `json:"fsType"`
		} `json:"filesystem"`
	} `json:"spec"`
	Status struct {
		ClaimState string `json:"claimState"`
		State      string `json:"state"`
	} `json:"status"`
}

func (b slimBlockDevice) object() unstructured.Unstructured {
	labels := map[string]interface{}{}
	for k, v := range b.Metadata.Labels {
		labels[k] = v
	}
	return unstructured.Unstructured{Object: map[string]interface{}{
		"metadata": map[string]interface{}{"name": b.Metadata.Name, "labels": labels},
		"spec": map[string]interface{}{
			"nodeAttributes": map[string]interface{}{"nodeName": b.Spec.NodeAttributes.NodeName},
			"path":           b.Spec.Path,
			"capacity":       map[string]interface{}{"storage": b.Spec.Capacity.Storage},
			"filesystem":     map[string]interface{}{"fsType": b.Spec.Filesystem.FSType},
		},
		"status": map[string]interface{}{"claimState": b.Status.ClaimState, "state": b.Status.State},
	}}
}

// streamList GETs a list at path (as JSON, from the watch cache) and decodes each item as it
// arrives into T, calling keep for it.
func streamList[T any](ctx context.Context, rc *rest.RESTClient, path string, params map[string]string, keep func(T)) error {
	req := rc.Get().AbsPath(path).SetHeader("Accept", "application/json").Param("resourceVersion", "0")
	for k, v := range params {
		req = req.Param(k, v)
	}
	body, err := req.Stream(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	// Walk to "items", then decode one element at a time.
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("reading the list: %w", err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return fmt.Errorf("reading the list: %w", err)
		}
		if key != "items" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("reading the list: %w", err)
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // [
			return fmt.Errorf("reading the list: %w", err)
		}
		for dec.More() {
			var item T
			if err := dec.Decode(&item); err != nil {
				return fmt.Errorf("reading the list: %w", err)
			}
			keep(item)
		}
		if _, err := dec.Token(); err != nil { // ]
			return fmt.Errorf("reading the list: %w", err)
		}
	}
	return nil
}

// restClient is the client to stream with, or nil (fake clientsets in unit tests).
func (r Reader) restClient() *rest.RESTClient {
	rc, ok := r.Kube.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil {
		return nil
	}
	return rc
}
