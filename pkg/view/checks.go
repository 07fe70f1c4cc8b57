// A preflight report for people: checks grouped by category with a mark each, hints under the
// ones that need action, the reachable limit and a summary line.

package view

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
)

// CheckStyle is how marks are drawn.
type CheckStyle struct {
	// Fancy uses Unicode marks and colour (a terminal without NO_COLOR).
	Fancy bool
}

func (s CheckStyle) mark(v preflight.Verdict) string {
	p := output.Painter{On: s.Fancy}
	if !s.Fancy {
		switch v {
		case preflight.Pass:
			return "[PASS]"
		case preflight.Warn:
			return "[WARN]"
		case preflight.Fail:
			return "[FAIL]"
		case preflight.Skipped:
			return "[SKIP]"
		}
		return "[ERROR]"
	}
	switch v {
	case preflight.Pass:
		return p.Green("✓")
	case preflight.Warn:
		return p.Yellow("!")
	case preflight.Fail:
		return p.Red("✗")
	case preflight.Skipped:
		return p.Faint("-")
	}
	return p.Red("?")
}

// targetText describes a target for people.
func targetText(t preflight.Target) string {
	if t.Empty() {
		return "none (can this cluster scale out, and how far?)"
	}
	return t.String()
}

// WriteChecks prints the report; wide adds the per-node table.
func WriteChecks(w io.Writer, r *preflight.Report, style CheckStyle, wide bool) error {
	fmt.Fprintf(w, "Preflight for release %s in namespace %s; target: %s\n", r.Release, r.Namespace, targetText(r.Target))
	idWidth := 0
	for _, res := range r.Results {
		if len(res.ID) > idWidth {
			idWidth = len(res.ID)
		}
	}
	category := ""
	for _, res := range r.Results {
		if res.Category != category {
			category = res.Category
			fmt.Fprintf(w, "\n%s\n", strings.ToUpper(category))
		}
		writeResult(w, style, res, idWidth)
	}
	fmt.Fprintf(w, "\nThis cluster can take up to %d chunk pods (limited by: %s) and %d meta pods.\n",
		r.Limit.MaxChunk, strings.Join(r.Limit.LimitedBy, ", "), r.Limit.MaxMeta)
	if wide {
		fmt.Fprintln(w)
		if err := writeNodes(w, r); err != nil {
			return err
		}
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "\n%d passed, %d warnings, %d failed, %d skipped, %d errors\n", s.Pass, s.Warn, s.Fail, s.Skipped, s.Error)
	return err
}

func writeNodes(w io.Writer, r *preflight.Report) error {
	meta := map[string]string{}
	for _, n := range r.Nodes.Meta.Nodes {
		meta[n.Name] = nodeCell(n.Eligible, n.Hosts, n.Reasons)
	}
	disks := map[string]placement.NodeDisks{}
	for _, d := range r.Nodes.Disks {
		disks[d.Node] = d
	}
	ready := map[string]string{}
	for _, n := range r.Nodes.Readiness {
		ready[n.Node] = n.Brief()
	}
	headers := []string{"NODE", "CHUNK", "META"}
	if len(r.Nodes.Disks) > 0 {
		headers = append(headers, "NEW CHUNK DISKS", "RAW")
	}
	if len(ready) > 0 {
		headers = append(headers, "READINESS")
	}
	rows := make([][]string, 0, len(r.Nodes.Chunk.Nodes))
	for _, n := range r.Nodes.Chunk.Nodes {
		row := []string{n.Name, nodeCell(n.Eligible, n.Hosts, n.Reasons), meta[n.Name]}
		if len(r.Nodes.Disks) > 0 {
			if d, ok := disks[n.Name]; ok {
				row = append(row, d.Describe(), humanBytes(d.Bytes))
			} else {
				row = append(row, "-", "-")
			}
		}
		if len(ready) > 0 {
			row = append(row, ready[n.Name])
		}
		rows = append(rows, row)
	}
	return output.Render(w, headers, rows)
}

func nodeCell(eligible bool, hosts string, reasons []string) string {
	switch {
	case hosts != "":
		return "runs " + hosts
	case eligible:
		return "eligible"
	}
	return "no: " + strings.Join(reasons, ", ")
}

func humanBytes(b int64) string {
	if b == 0 {
		return "-"
	}
	return placement.HumanBytes(b)
}

// WriteResult prints one check on its own, as a refusal lists it.
func WriteResult(w io.Writer, style CheckStyle, res preflight.Result) { writeResult(w, style, res, -1) }

// writeResult prints a check: in a column of IDs idWidth wide, or on its own when idWidth < 0.
// Hints and docs follow only for checks that need action.
func writeResult(w io.Writer, style CheckStyle, res preflight.Result, idWidth int) {
	pad := strings.Repeat(" ", 6)
	reason := strings.Split(res.Reason, "\n")
	if idWidth < 0 {
		fmt.Fprintf(w, "  %s %s: %s\n", style.mark(res.Verdict), res.ID, reason[0])
	} else {
		fmt.Fprintf(w, "  %s %-*s  %s\n", style.mark(res.Verdict), idWidth, res.ID, reason[0])
		pad = strings.Repeat(" ", idWidth+7)
	}
	// A reason of several lines (a list) continues under its first line.
	for _, l := range reason[1:] {
		fmt.Fprintf(w, "%s  %s\n", pad, l)
	}
	if res.Verdict != preflight.Fail && res.Verdict != preflight.Warn && res.Verdict != preflight.Error {
		return
	}
	if res.Hint != "" {
		lines := strings.Split(res.Hint, "\n")
		fmt.Fprintf(w, "%shint: %s\n", pad, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "%s      %s\n", pad, l)
		}
	}
	if res.Doc != "" {
		fmt.Fprintf(w, "%sdocs: %s\n", pad, res.Doc)
	}
}

// WriteVerdicts writes the results of the report that have one of verdicts.
func WriteVerdicts(w io.Writer, style CheckStyle, r *preflight.Report, verdicts ...preflight.Verdict) {
	for _, res := range r.Results {
		for _, v := range verdicts {
			if v != "" && res.Verdict == v {
				WriteResult(w, style, res)
				break
			}
		}
	}
}

// WriteRefusal writes the results that refused a change: failures, checks that could not run,
// and warnings when they refuse, under a heading that says which it is (RefusalHeading). err is
// the refusal; a silent one (the checks are its message) gets the pointer to every check.
func WriteRefusal(w io.Writer, style CheckStyle, r *preflight.Report, failOnWarning bool, err error) {
	fmt.Fprintln(w, RefusalHeading(r, err))
	verdicts := []preflight.Verdict{preflight.Fail, preflight.Error}
	if failOnWarning {
		verdicts = append(verdicts, preflight.Warn)
	}
	WriteVerdicts(w, style, r, verdicts...)
	var silent *exitcode.Silent
	if errors.As(err, &silent) {
		fmt.Fprintf(w, "Nothing was changed. See every check with `kubectl iomesh preflight%s`.\n", r.Target.Args())
	}
}

// RefusalHeading heads the checks that stopped a change by what stopped it, as the exit code
// says: a check that could not run is an error (exit 1), not a refusal (exit 3); warnings stop
// a change only under --fail-on-warning (exit 4).
func RefusalHeading(r *preflight.Report, err error) string {
	switch exitcode.Of(err) {
	case exitcode.Error:
		n := r.Summary.Error
		if n == 1 {
			return "Error: a preflight check could not run:"
		}
		return fmt.Sprintf("Error: %d preflight checks could not run:", n)
	case exitcode.Warnings:
		return "Stopped by warnings (--fail-on-warning):"
	}
	return "Refused by the preflight checks:"
}
