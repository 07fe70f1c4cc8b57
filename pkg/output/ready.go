package output

import (
	corev1 "k8s.io/api/core/v1"
)

// PodReady reports whether a pod serves: not being deleted, in phase Running with no failure reason,
// its Ready condition true, and every container and sidecar ready and running. A pod whose node
// went NotReady keeps "ready" containers but loses the condition, so both are required.
func PodReady(pod *corev1.Pod) bool {
	if pod == nil || pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || pod.Status.Reason != "" ||
		!podCondition(pod, corev1.PodReady) || len(pod.Spec.Containers) == 0 {
		return false
	}
	want := map[string]bool{}
	for _, c := range pod.Spec.Containers {
		want[c.Name] = true
	}
	for _, c := range pod.Status.ContainerStatuses {
		if want[c.Name] && c.Ready && c.State.Running != nil {
			delete(want, c.Name)
		}
	}
	sidecars := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if isRestartableInit(c) {
			sidecars[c.Name] = true
		}
	}
	for _, c := range pod.Status.InitContainerStatuses {
		if sidecars[c.Name] && c.Ready && c.Started != nil && *c.Started {
			delete(sidecars, c.Name)
		}
	}
	return len(want) == 0 && len(sidecars) == 0
}
