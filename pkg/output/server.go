package output

import (
	"encoding/json"
	"fmt"

	jsoniter "github.com/json-iterator/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fastJSON decodes like encoding/json (the types' own UnmarshalJSON methods are honoured), faster:
// the Table of every pod in the cluster has one row per pod.
var fastJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// TableAccept asks the API server for its Table of a list (the rows `kubectl get` prints for
// that server's version), falling back to the plain list on a server that serves no tables.
const TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// colNode is the server's name for the pod's node column.
const colNode = "Node"

// isTable reports whether the server answered a pod list with its Table (TableAccept), not a
// plain PodList.
func isTable(body []byte) (bool, error) {
	var kind metav1.TypeMeta
	if err := json.Unmarshal(body, &kind); err != nil {
		return false, fmt.Errorf("reading the pod list: %w", err)
	}
	return kind.Kind == "Table", nil
}

// NodeCounts reads a pod list answered to TableAccept with includeObject=None (a Table whose rows
// carry no objects, or a plain PodList from a server that serves no tables) and counts the pods
// bound to each node. Rows without a node (unscheduled pods) are not counted.
func NodeCounts(body []byte) (map[string]int, error) {
	table, err := isTable(body)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	if !table {
		var list corev1.PodList
		if err := fastJSON.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("reading the pod list: %w", err)
		}
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				out[p.Spec.NodeName]++
			}
		}
		return out, nil
	}
	var tbl struct {
		ColumnDefinitions []struct {
			Name string `json:"name"`
		} `json:"columnDefinitions"`
		Rows []struct {
			Cells []json.RawMessage `json:"cells"`
		} `json:"rows"`
	}
	if err := fastJSON.Unmarshal(body, &tbl); err != nil {
		return nil, fmt.Errorf("reading the pod table: %w", err)
	}
	col := -1
	for i, c := range tbl.ColumnDefinitions {
		if c.Name == colNode {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("reading the pod table: the server sent no %q column", colNode)
	}
	for _, r := range tbl.Rows {
		if col >= len(r.Cells) {
			continue
		}
		var node string
		if err := json.Unmarshal(r.Cells[col], &node); err != nil {
			return nil, fmt.Errorf("reading the pod table: a %q cell is not a string: %s", colNode, r.Cells[col])
		}
		// The server prints an unscheduled pod's node as "<none>".
		if node != "" && node != "<none>" {
			out[node]++
		}
	}
	return out, nil
}
