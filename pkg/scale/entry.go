package scale

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/scaleplan"
)

// Request is one scale: the target and how far to go. A dry run plans and changes nothing;
// ServerCheck has the API server and its admission webhooks judge the new counts too. Limit,
// when set, is how long a scale-in goes on (a migration takes minutes to hours, so it has no
// limit otherwise); a scale-out's wait is bounded by its Hooks.
type Request struct {
	Target      preflight.Target
	DryRun      bool
	ServerCheck bool
	Limit       time.Duration
}

// Callbacks are where a scale hands over to its command, which keeps flags, prompts and
// printing: each is called at most once, in this order.
type Callbacks struct {
	// Progress gets what happens while a revision a killed run of this tool left
	// pending-upgrade is finished.
	Progress io.Writer
	// Read sees the cluster as read and checked, before any plan.
	Read func(*State)
	// Refused gets a refusal of the checks or of the render guard (the plan's, or a step's
	// planned just before its write) and returns the error the command ends with.
	Refused func(*Refused) error
	// Planned sees the plan, checked and guarded, before anything changes; rp is set when the
	// plan removes pods.
	Planned func(st *State, plan *scaleplan.Plan, rp *scaleplan.ScaleInPlan)
	// Print prints a dry run's plan.
	Print func(plan *scaleplan.Plan, rp *scaleplan.ScaleInPlan) error
	// Hooks are the run's, for the plan.
	Hooks func(plan *scaleplan.Plan, rp *scaleplan.ScaleInPlan) Hooks
}

// Scale is the one way a scale goes: it finishes first a revision its own killed lower left
// pending-upgrade (a dry run only reports it), reads and checks the cluster once, plans a
// scale-out or a scale-in from what it read, and prints (a dry run) or runs the plan, which
// checks each step's facts again right before it writes.
func (e *Engine) Scale(ctx context.Context, req Request, cb Callbacks) error {
	st, err := e.Read(ctx, req.Target)
	if err != nil {
		return err
	}
	if !req.DryRun && st.Snapshot.Info.Status == "pending-upgrade" {
		// The cluster is read again once it is finished: a scale plans from one read.
		st.Close()
		if err := e.RecoverPending(ctx, Hooks{Progress: cb.Progress, Holder: Holder()}); err != nil {
			return err
		}
		if st, err = e.Read(ctx, req.Target); err != nil {
			return err
		}
	}
	defer st.Close()
	if cb.Read != nil {
		cb.Read(st)
	}
	var plan *job
	if _, _, removes := st.Snapshot.Removes(req.Target); removes {
		plan, err = e.planScaleIn(ctx, st)
	} else {
		plan, err = e.plan(ctx, st)
	}
	var refused *Refused
	if errors.As(err, &refused) && cb.Refused != nil {
		return cb.Refused(refused)
	} else if err != nil {
		return err
	}
	rp := plan.removal
	if cb.Planned != nil {
		cb.Planned(st, plan.Plan, rp)
	}
	if req.DryRun {
		if req.ServerCheck && !plan.AtTarget {
			if err := e.serverDryRun(ctx, plan); err != nil {
				return err
			}
		}
		if cb.Print == nil {
			return nil
		}
		return cb.Print(plan.Plan, rp)
	}
	rctx := ctx
	if rp != nil && req.Limit > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, req.Limit)
		defer cancel()
	}
	var h Hooks
	if cb.Hooks != nil {
		h = cb.Hooks(plan.Plan, rp)
	}
	err = e.execute(rctx, plan, h)
	// A step planned just before its write can be refused by the render guard, as a plan is.
	if errors.As(err, &refused) && refused.Guard != nil && cb.Refused != nil {
		return cb.Refused(refused)
	}
	return err
}
