// Package scaleplan holds what a scale will do, as people and machines read it: the counts,
// revisions and values of a change that adds pods (Plan), the steps of one that removes them
// (ScaleInPlan, one Step per pod), and the render guard's finding (Guard). Plain data: the
// engine (pkg/scale) makes and runs plans, the renderers (pkg/view) print them, and this
// package imports neither.
package scaleplan
