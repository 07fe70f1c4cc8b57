// Package view holds what status, preflight and scale print for people and machines: the status
// report (one cluster, or every cluster with -A), the preflight report and the scale plans. It
// builds from a snapshot, the checks' results and plans (pkg/scaleplan) and never reads the
// cluster itself: it may not import pkg/scale or pkg/cmd.
package view
