// Package view holds what status and preflight print for people and machines: the status report
// (one cluster, or every cluster with -A) and the preflight report. It builds from a snapshot and
// the checks' results and never reads the cluster itself: it may not import pkg/scale or pkg/cmd.
package view
