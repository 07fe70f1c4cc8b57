package podtable

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
)

// fastJSON decodes the Table and its pods about 1.5x faster than encoding/json (measured on the
// Table of 260 chunk and meta pods: 38 ms against 59), with the same results for these types
// (their own UnmarshalJSON methods are honoured).
var fastJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// TableAccept asks the API server for its Table of a list (the rows `kubectl get` prints for
// that server's version), falling back to the plain list on a server that serves no tables.
const TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// The server's pod columns, by the names it gives them.
const (
	colName           = "Name"
	colReady          = "Ready"
	colStatus         = "Status"
	colRestarts       = "Restarts"
	colAge            = "Age"
	colIP             = "IP"
	colNode           = "Node"
	colNominatedNode  = "Nominated Node"
	colReadinessGates = "Readiness Gates"
)

// ServerList is a pod list as the server answered it: the pods, and their rows when it answered
// with a Table (Rows nil: the local rows apply).
type ServerList struct {
	Pods []corev1.Pod
	Rows map[string]Row
}

// DecodeList reads a pod list answered to TableAccept with includeObject=Object: a Table whose
// rows carry the full pods, or a plain PodList from a server that serves no tables.
func DecodeList(body []byte, now time.Time) (ServerList, error) {
	table, err := isTable(body)
	if err != nil {
		return ServerList{}, err
	}
	if !table {
		var list corev1.PodList
		if err := fastJSON.Unmarshal(body, &list); err != nil {
			return ServerList{}, fmt.Errorf("reading the pod list: %w", err)
		}
		return ServerList{Pods: list.Items}, nil
	}
	// One pass: the rows' objects are decoded as pods directly.
	var tbl struct {
		ColumnDefinitions []metav1.TableColumnDefinition `json:"columnDefinitions"`
		Rows              []struct {
			Cells  []interface{} `json:"cells"`
			Object *corev1.Pod   `json:"object"`
		} `json:"rows"`
	}
	if err := fastJSON.Unmarshal(body, &tbl); err != nil {
		return ServerList{}, fmt.Errorf("reading the pod table: %w", err)
	}
	out := ServerList{Pods: make([]corev1.Pod, 0, len(tbl.Rows)), Rows: make(map[string]Row, len(tbl.Rows))}
	for i, r := range tbl.Rows {
		if r.Object == nil || r.Object.Name == "" {
			return ServerList{}, fmt.Errorf("reading the pod table: row %d carries no pod (the server ignored includeObject=Object)", i)
		}
		out.Pods = append(out.Pods, *r.Object)
		out.Rows[r.Object.Name] = FromCells(r.Object, tbl.ColumnDefinitions, r.Cells, now)
	}
	return out, nil
}

// isTable reports whether the server answered a pod list with its Table (TableAccept), not a
// plain PodList.
func isTable(body []byte) (bool, error) {
	var kind metav1.TypeMeta
	if err := json.Unmarshal(body, &kind); err != nil {
		return false, fmt.Errorf("reading the pod list: %w", err)
	}
	return kind.Kind == "Table", nil
}

// FromCells is the row of pod with the server's cells in kubectl's columns. Columns the server
// did not send keep the local value; readiness is always the pod's own.
func FromCells(pod *corev1.Pod, cols []metav1.TableColumnDefinition, cells []interface{}, now time.Time) Row {
	row := Of(pod, now)
	fields := map[string]*string{
		colName: &row.Name, colReady: &row.Ready, colStatus: &row.Status, colRestarts: &row.Restarts, colAge: &row.Age,
		colIP: &row.IP, colNode: &row.Node, colNominatedNode: &row.NominatedNode, colReadinessGates: &row.ReadinessGates,
	}
	for i, c := range cols {
		if i >= len(cells) {
			break
		}
		if f, ok := fields[c.Name]; ok {
			*f = cellText(cells[i])
		}
	}
	return row
}

// cellText prints a cell as kubectl's table printer does: a string cut at its first line break
// (marked "...") with terminal control characters escaped, whole numbers without a fraction,
// nothing for a null.
func cellText(v interface{}) string {
	switch c := v.(type) {
	case nil:
		return ""
	case string:
		if i := strings.IndexAny(c, "\n\r\f"); i >= 0 {
			return printers.EscapeTerminal(c[:i]) + "..."
		}
		return printers.EscapeTerminal(c)
	case float64:
		if c == float64(int64(c)) {
			return strconv.FormatInt(int64(c), 10)
		}
		return strconv.FormatFloat(c, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(c)
	}
	return fmt.Sprint(v)
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
