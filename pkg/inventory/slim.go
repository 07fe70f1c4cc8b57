package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// The list of every BlockDevice (a custom resource, served in JSON only) is decoded as it streams
// in, keeping only the fields the disk rules read, so thousands of objects cost megabytes, not
// hundreds of them.

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
	body, err := openList(ctx, rc, path, "application/json", params)
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

// openList GETs a list at path in the given encoding, served from the API server's watch cache
// (resourceVersion=0), for reading as it streams in.
func openList(ctx context.Context, rc *rest.RESTClient, path, accept string, params map[string]string) (io.ReadCloser, error) {
	req := rc.Get().AbsPath(path).SetHeader("Accept", accept).Param("resourceVersion", "0")
	for k, v := range params {
		req = req.Param(k, v)
	}
	return req.Stream(ctx)
}

// restClient is the client to stream with, or nil (fake clientsets in unit tests).
func (r Reader) restClient() *rest.RESTClient {
	rc, ok := r.Kube.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil {
		return nil
	}
	return rc
}
