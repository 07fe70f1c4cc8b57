package snapshot

import (
	"context"
	"fmt"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/values"
)

// ReadReadiness finds prepare-csi and the CSI node plugin in the newest revision's manifest,
// lists their pods (one request, none when the manifest has neither) and reads dataCIDR from
// the values.
func ReadReadiness(ctx context.Context, r inventory.Reader, rel ReleaseFacts) preflight.Readiness {
	out := preflight.Readiness{Read: true}
	layout := rel.Replicas.Layout
	if layout == "" {
		layout = values.Nested
	}
	eff := rel.BaseInfo.Effective
	out.DataCIDRPath = layout.Prefix() + "chunk.dataCIDR"
	if v, ok := values.Lookup(eff, out.DataCIDRPath); ok && v != nil {
		out.DataCIDR = fmt.Sprint(v)
	}
	if rel.Latest == nil {
		out.NoPrepareCSI = "no Helm release manifest names prepare-csi"
		out.NoNodePlugin = "no Helm release manifest names the CSI node plugin"
		return out
	}
	ds := inventory.ReleaseDaemonSets(rel.Latest.Manifest)
	out.PrepareCSI, out.NodePlugin = ds.PrepareCSI, ds.NodePlugin
	if out.PrepareCSI == "" {
		out.NoPrepareCSI = noPrepareCSI(eff)
	}
	if out.NodePlugin == "" {
		out.NoNodePlugin = "the release manifest has no CSI node plugin DaemonSet (*" + inventory.NodePluginSuffix + "; csi-driver.enabled=false?)"
	}
	out.Pods, out.Err = r.DaemonSetPods(ctx, out.PrepareCSI, out.NodePlugin)
	return out
}

// noPrepareCSI says why a release has no prepare-csi: a value turned it off (prepareCSI.enabled
// in chart 1.0.1, csi-driver.prepareCSI.enabled from 1.1 on), or the chart has none (before
// 1.0.1).
func noPrepareCSI(eff values.Map) string {
	for _, path := range []string{"prepareCSI.enabled", "csi-driver.prepareCSI.enabled"} {
		if v, ok := values.Lookup(eff, path); ok && fmt.Sprint(v) == "false" {
			return fmt.Sprintf("prepare-csi is disabled (%s=false), so nothing labels prepared nodes", path)
		}
	}
	return "the release has no prepare-csi DaemonSet (charts before v1.0.1 have none), so nothing labels prepared nodes"
}

// ReadHostAddresses reads, inside the CSI node plugin (hostNetwork), the addresses of each node
// eligible for a new chunk pod whose own addresses are outside dataCIDR: one exec per such node
// (--exec-storage-network). It needs pods/exec in the namespace, which the default roles do not
// grant: a refusal is kept for the check to show.
func ReadHostAddresses(ctx context.Context, r inventory.Reader, in *preflight.Input) {
	rd := &in.Readiness
	rd.Host = map[string]preflight.HostRead{}
	if !rd.Read || rd.Err != nil || rd.DataCIDR == "" || rd.NodePlugin == "" {
		return
	}
	f := preflight.Derive(in)
	for _, node := range f.Candidates {
		if f.Ready[node].Network.Verdict != preflight.Skipped {
			continue
		}
		for i := range rd.Pods {
			p := &rd.Pods[i]
			if inventory.DaemonSetOf(p) != rd.NodePlugin || p.Spec.NodeName != node {
				continue
			}
			addrs, err := r.HostAddresses(ctx, p.Name, inventory.NodePluginContainer)
			rd.Host[node] = preflight.HostRead{Pod: p.Name, Addresses: addrs, Err: err}
			break
		}
	}
}
