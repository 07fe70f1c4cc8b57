package preflight

import (
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/gitops"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Report is the outcome of a preflight run.
type Report struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string    `json:"namespace"`
	Release         string    `json:"release"`
	Target          Target    `json:"target"`
	Results         []Result  `json:"checks"`
	Summary         Summary   `json:"summary"`
	Limit           Limit     `json:"limit"`
	Nodes           NodeViews `json:"nodes"`
	// GitOps is set when a GitOps controller owns the cluster: the change to make in Git.
	GitOps *GitOpsView `json:"gitOps,omitempty"`
}

// NodeViews are the per-node verdicts.
type NodeViews struct {
	Chunk placement.Summary `json:"chunk"`
	Meta  placement.Summary `json:"meta"`
	// Disks are what a new chunk pod would mount on each eligible node.
	Disks []placement.NodeDisks `json:"disks,omitempty"`
	// Readiness is each node's readiness for IOMesh (the nodes.* checks judge the eligible ones).
	Readiness []NodeReadiness `json:"readiness,omitempty"`
	// LeftOut are the nodes left out for a new chunk pod by nodes.iscsi-prepared or
	// nodes.csi-node-ready, each with why.
	LeftOut []string `json:"leftOut,omitempty"`
}

// Summary counts verdicts.
type Summary struct {
	Pass    int     `json:"pass"`
	Warn    int     `json:"warn"`
	Fail    int     `json:"fail"`
	Skipped int     `json:"skipped"`
	Error   int     `json:"error"`
	Worst   Verdict `json:"worst"`
}

// Run runs every check; checks named in skip are listed as skipped without running.
func Run(in *Input, skip map[string]bool, apiVersion string) *Report {
	f := Derive(in)
	r := &Report{
		TypeMeta:  metav1.TypeMeta{APIVersion: apiVersion, Kind: "Preflight"},
		Namespace: in.Namespace, Release: in.Release, Target: in.Target,
		Limit: f.Limit, Nodes: NodeViews{Chunk: f.Chunk, Meta: f.Meta, Disks: f.NewChunkDisks, Readiness: f.readinessList(), LeftOut: f.LeftOut},
		GitOps:  gitOpsView(f),
		Summary: Summary{Worst: Pass},
	}
	for _, c := range Checks() {
		var res Result
		if skip[c.ID] {
			res = Result{Verdict: Skipped, Reason: "skipped with --skip-check"}
		} else {
			res = c.Run(f)
		}
		res.ID, res.Category, res.Title = c.ID, c.Category, c.Title
		r.Results = append(r.Results, res)
		switch res.Verdict {
		case Pass:
			r.Summary.Pass++
		case Warn:
			r.Summary.Warn++
		case Fail:
			r.Summary.Fail++
		case Skipped:
			r.Summary.Skipped++
		case Error:
			r.Summary.Error++
		}
		if res.Verdict != Skipped && res.Verdict.Worse(r.Summary.Worst) {
			r.Summary.Worst = res.Verdict
		}
	}
	return r
}

// ExitError is the exit of a report under the exit-code contract, without a message (the report
// is the message): 3 on a failed check, 1 on a check that could not run, 4 on warnings with
// failOnWarning; nil otherwise.
func ExitError(r *Report, failOnWarning bool) error {
	switch {
	case r.Summary.Fail > 0:
		return &exitcode.Silent{Code: exitcode.Refused}
	case r.Summary.Error > 0:
		return &exitcode.Silent{Code: exitcode.Error}
	case r.Summary.Warn > 0 && failOnWarning:
		return &exitcode.Silent{Code: exitcode.Warnings}
	}
	return nil
}

// GitOpsView is the owner and the edit to make in Git, for machines (-o yaml).
type GitOpsView struct {
	Owner *gitops.Owner `json:"owner"`
	Edit  *gitops.Edit  `json:"gitEdit,omitempty"`
}

func gitOpsView(f *Facts) *GitOpsView {
	if f.GitOps == nil {
		return nil
	}
	return &GitOpsView{Owner: f.GitOps, Edit: f.GitOpsEdit()}
}
