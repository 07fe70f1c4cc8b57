// Package scale runs a scale, as Helm's action.Upgrade runs an upgrade.
//
// Engine.Scale is the one entry point: given a Request (the target, a dry run or not, how
// long a scale-in may go on) and the command's Callbacks (what to print, the question before
// the first write), it reads and checks the cluster once (Engine.Read, a State), plans a
// change that adds pods or removes them (one step per pod), and hands the plan, as people and
// machines read it (pkg/scaleplan), to the command to print. A dry run may have the API server
// judge it; otherwise the engine runs it: one revision, or one IOMeshCluster patch, per step,
// holding the scale-in Lease while it removes pods, each step's facts read again right before
// its write, then the wait for the pods and their chunks. A revision a killed run of its own
// left pending-upgrade is finished first (Engine.RecoverPending).
//
// Decide is the rule each removal step follows, a plain function over what the run observed
// (docs/scale-in.md, "The evidence model"). Check is the render guard.
//
// The commands keep flags, prompts and printing (pkg/view renders plans). This package may not
// import pkg/cmd or pkg/view.
package scale
