// Package scale runs a scale, as Helm's action.Upgrade runs an upgrade.
//
// Engine.Read reads the cluster and prepares the deployed chart beside it (a State).
// Engine.Plan checks and plans a change that adds pods; Engine.PlanScaleIn one that removes
// them (a ScaleInPlan, one Step per pod). Engine.ServerDryRun has the API server and its
// admission webhooks judge the new counts. Engine.Run writes a plan, one revision (or one
// IOMeshCluster patch) per step, holding the scale-in Lease while it removes pods, and waits
// for the pods (Engine.WaitPods) and their chunks (Engine.WaitStorage). Engine.RecoverPending
// finishes a revision a killed run of its own left pending-upgrade.
//
// Decide is the rule each removal step follows, a plain function over what the run observed
// (docs/scale-in.md, "The evidence model"). Unfinished and ClearFinished read and clear what
// a scale-in leaves on its Lease. Write, WriteRemoval and WriteGuard render plans.
//
// The commands keep flags, prompts and printing. This package may not import pkg/cmd or
// pkg/view.
package scale
