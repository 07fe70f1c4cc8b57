package cmd

// The help of the scale command.
var (
	scaleLong = `Scale an IOMesh cluster out or in: what the IOMesh docs do by hand (edit replicaCount, helm upgrade,
watch kubectl get pod), with the checks first.

It reads the release from the cluster, runs the preflight checks for the target, finds the exact
chart version that is deployed (with its subcharts) in your Helm repositories or at --chart,
proves by rendering that only the replica counts change, shows the plan, upgrades the release
through the Helm SDK keeping every value you set, waits for the new pods and prints them as
` + "`kubectl get pod`" + ` does.

A target below the current count is a scale-in, done the documented way: one pod at a time from
the highest ordinal; on IOMesh 1.0.x (and 1.1) each chunk is first unregistered on the meta
leader (` + "`/opt/iomesh/iomeshctl chunk unregister <id>`" + `) and the count is lowered only once
IOMesh has moved its data and dropped it from chunkSummary; on 1.2 each count is one helm upgrade
and the operator unregisters. Meta pods are removed on 1.2 only (5 to 4 to 3). Interrupted
anywhere, the same command continues from what the cluster shows.

Exit codes: 0 done, 1 error, 2 bad usage, 3 refused by a check (nothing changed),
4 warnings with --fail-on-warning (nothing changed), 5 upgraded but the pods were not all
Ready before --timeout, or a scale-in still in progress (run the same command again to keep
waiting or to continue).`

	scaleExample = `  # Scale to 5 chunk and 5 meta pods (IOMesh Enterprise, 5 worker nodes)
  kubectl iomesh scale --chunk 5 --meta 5

  # See the plan, change nothing
  kubectl iomesh scale --chunk 6 --dry-run

  # Scale in from 5 to 3 chunk pods: see the steps, then run them
  kubectl iomesh scale --chunk 3 --dry-run
  kubectl iomesh scale --chunk 3 --timeout 6h

  # Offline install: use the chart shipped in the offline package
  kubectl iomesh scale --chunk 5 --chart ./charts/iomesh --yes`
)
