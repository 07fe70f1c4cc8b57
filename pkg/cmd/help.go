package cmd

// The help of the scale command.
var (
	scaleLong = `Scale out an IOMesh cluster: what the IOMesh docs do by hand (edit replicaCount, helm upgrade,
watch kubectl get pod), with the checks first.

It reads the release from the cluster, runs the preflight checks for the target, finds the exact
chart version that is deployed (with its subcharts) in your Helm repositories or at --chart,
proves by rendering that only the replica counts change, shows the plan, upgrades the release
through the Helm SDK keeping every value you set, waits for the new pods and prints them as
` + "`kubectl get pod`" + ` does.

Removing chunk or meta pods is refused: it needs the documented scale-in procedure.

Exit codes: 0 done, 1 error, 2 bad usage, 3 refused by a check (nothing changed),
4 warnings with --fail-on-warning (nothing changed), 5 upgraded but the pods were not all
Ready before --timeout (run the same command again to keep waiting).`

	scaleExample = `  # Scale to 5 chunk and 5 meta pods (IOMesh Enterprise, 5 worker nodes)
  kubectl iomesh scale --chunk 5 --meta 5

  # See the plan, change nothing
  kubectl iomesh scale --chunk 6 --dry-run

  # Offline install: use the chart shipped in the offline package
  kubectl iomesh scale --chunk 5 --chart ./charts/iomesh --yes`
)
