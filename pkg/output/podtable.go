package output

import (
	"fmt"
	"io"
	"strings"
)

// PodHeaders are kubectl's pod columns; wide adds kubectl's -o wide columns.
func PodHeaders(wide bool) []string {
	h := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
	if wide {
		h = append(h, "IP", "NODE", "NOMINATED NODE", "READINESS GATES")
	}
	return h
}

// PodCells is one row's cells under PodHeaders.
func PodCells(r PodRow, wide bool) []string {
	c := []string{r.Name, r.Ready, r.Status, r.Restarts, r.Age}
	if wide {
		c = append(c, r.IP, r.Node, r.NominatedNode, r.ReadinessGates)
	}
	return c
}

// PodColumn is an extra column after kubectl's own (for example a chunk's registration).
type PodColumn struct {
	Header string
	Cell   func(PodRow) string
}

// WritePods prints rows exactly as `kubectl get pod` does, then any extra columns.
func WritePods(w io.Writer, rows []PodRow, wide bool, extra ...PodColumn) error {
	headers := PodHeaders(wide)
	for _, c := range extra {
		headers = append(headers, c.Header)
	}
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		row := PodCells(r, wide)
		for _, c := range extra {
			row = append(row, c.Cell(r))
		}
		cells = append(cells, row)
	}
	return Render(w, headers, cells)
}

// LiveRow is one wanted pod in the live view: its row (nil when the pod does not exist yet) and
// what it is waiting for ("" when Ready).
type LiveRow struct {
	Name    string
	Row     *PodRow
	Waiting string
}

// maxNote keeps a long scheduler message from wrapping the live table.
const maxNote = 100

// Live redraws a table of wanted pods in place on a terminal.
type Live struct {
	W     io.Writer
	drawn int // lines of the table on screen
}

// Draw replaces the table on screen with rows.
func (l *Live) Draw(rows []LiveRow) error {
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		if r.Row == nil {
			cells = append(cells, []string{r.Name, "", "not created yet", "", "", ""})
			continue
		}
		note := "ready"
		if r.Waiting != "" {
			note = r.Waiting
		}
		if len(note) > maxNote {
			note = note[:maxNote-3] + "..."
		}
		cells = append(cells, []string{r.Row.Name, r.Row.Ready, r.Row.Status, r.Row.Restarts, r.Row.Age, note})
	}
	var tbl strings.Builder
	if err := Render(&tbl, []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "WAITING FOR"}, cells); err != nil {
		return err
	}
	var buf strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&buf, "\x1b[%dA\x1b[J", l.drawn) // up to the table's first line, clear below
	}
	buf.WriteString(tbl.String())
	l.drawn = strings.Count(tbl.String(), "\n")
	_, err := io.WriteString(l.W, buf.String())
	return err
}
