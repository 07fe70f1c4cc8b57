// The pod table: a Pod as the row `kubectl get pod` prints (READY, STATUS,
// RESTARTS and AGE follow kubectl's rules, so the table reads as the IOMesh docs' verification
// step), the table itself, the live view redrawn while waiting, and when a pod counts as Ready.

package output

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// PodRow is one pod as kubectl shows it.
type PodRow struct {
	Name           string `json:"name"`
	Ready          string `json:"ready"`
	Status         string `json:"status"`
	Restarts       string `json:"restarts"`
	Age            string `json:"age"`
	IP             string `json:"ip"`
	Node           string `json:"node"`
	NominatedNode  string `json:"nominatedNode"`
	ReadinessGates string `json:"readinessGates"`
	// ReadyContainers and TotalContainers are the two halves of READY.
	ReadyContainers int `json:"readyContainers"`
	TotalContainers int `json:"totalContainers"`
	// PodReady is the pod's Ready condition (false when the node's controller marked it not
	// ready, even if its containers still say ready).
	PodReady bool `json:"podReady"`
}

const none = "<none>"

// Since formats the time since t as kubectl's AGE column does.
func Since(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

func isRestartableInit(c corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// PodRowOf computes the row for pod at time now.
func PodRowOf(pod *corev1.Pod, now time.Time) PodRow {
	restarts := 0
	restartableInitRestarts := 0
	total := len(pod.Spec.Containers)
	ready := 0
	var lastRestart, lastRestartableInitRestart time.Time

	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	// A pod held by scheduling gates says so, whatever its phase.
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	// Sidecars (restartable init containers) count in READY like regular containers.
	sidecars := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if isRestartableInit(c) {
			sidecars[c.Name] = true
			total++
		}
	}

	initializing := false
	for i, c := range pod.Status.InitContainerStatuses {
		restarts += int(c.RestartCount)
		if t := c.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(lastRestart) {
			lastRestart = t.FinishedAt.Time
		}
		if sidecars[c.Name] {
			restartableInitRestarts += int(c.RestartCount)
			if t := c.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(lastRestartableInitRestart) {
				lastRestartableInitRestart = t.FinishedAt.Time
			}
		}
		switch {
		case c.State.Terminated != nil && c.State.Terminated.ExitCode == 0:
			continue
		case sidecars[c.Name] && c.Started != nil && *c.Started:
			if c.Ready {
				ready++
			}
			continue
		case c.State.Terminated != nil:
			if c.State.Terminated.Reason != "" {
				reason = "Init:" + c.State.Terminated.Reason
			} else if c.State.Terminated.Signal != 0 {
				reason = fmt.Sprintf("Init:Signal:%d", c.State.Terminated.Signal)
			} else {
				reason = fmt.Sprintf("Init:ExitCode:%d", c.State.Terminated.ExitCode)
			}
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + c.State.Waiting.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || podCondition(pod, corev1.PodInitialized) {
		restarts = restartableInitRestarts
		lastRestart = lastRestartableInitRestart
		running := false
		// failed is how the first container that ended in failure ended.
		failed := ""
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			c := pod.Status.ContainerStatuses[i]
			restarts += int(c.RestartCount)
			if t := c.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(lastRestart) {
				lastRestart = t.FinishedAt.Time
			}
			switch {
			case c.State.Waiting != nil && c.State.Waiting.Reason != "":
				reason = c.State.Waiting.Reason
			case c.State.Terminated != nil:
				reason = terminatedReason(c.State.Terminated)
				if c.State.Terminated.ExitCode != 0 {
					failed = reason
				}
			case c.Ready && c.State.Running != nil:
				running = true
				ready++
			}
		}
		// "Completed" with a container still running is Running (or NotReady); with another
		// container failed, it is that failure.
		if reason == "Completed" {
			if running && podCondition(pod, corev1.PodReady) {
				reason = "Running"
			} else if failed != "" {
				reason = failed
			} else if running {
				reason = "NotReady"
			}
		}
	}

	// A finished pod being deleted stays as it finished; the node controller's NodeLost reads
	// Unknown.
	if pod.DeletionTimestamp != nil {
		if pod.Status.Reason == "NodeLost" {
			reason = "Unknown"
		} else if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
			reason = "Terminating"
		}
	}

	restartText := fmt.Sprint(restarts)
	if restarts > 0 && !lastRestart.IsZero() {
		restartText = fmt.Sprintf("%d (%s ago)", restarts, Since(lastRestart, now))
	}

	row := PodRow{
		Name:            pod.Name,
		Ready:           fmt.Sprintf("%d/%d", ready, total),
		Status:          reason,
		Restarts:        restartText,
		Age:             Since(pod.CreationTimestamp.Time, now),
		IP:              none,
		Node:            none,
		NominatedNode:   none,
		ReadinessGates:  none,
		ReadyContainers: ready,
		TotalContainers: total,
		PodReady:        podCondition(pod, corev1.PodReady),
	}
	if len(pod.Status.PodIPs) > 0 && pod.Status.PodIPs[0].IP != "" {
		row.IP = pod.Status.PodIPs[0].IP
	} else if pod.Status.PodIP != "" {
		row.IP = pod.Status.PodIP
	}
	if pod.Spec.NodeName != "" {
		row.Node = pod.Spec.NodeName
	}
	if pod.Status.NominatedNodeName != "" {
		row.NominatedNode = pod.Status.NominatedNodeName
	}
	if n := len(pod.Spec.ReadinessGates); n > 0 {
		trueGates := 0
		for _, g := range pod.Spec.ReadinessGates {
			if podCondition(pod, g.ConditionType) {
				trueGates++
			}
		}
		row.ReadinessGates = fmt.Sprintf("%d/%d", trueGates, n)
	}
	return row
}

// terminatedReason names how a container ended: its reason, else the signal, else the exit code.
func terminatedReason(t *corev1.ContainerStateTerminated) string {
	if t.Reason != "" {
		return t.Reason
	}
	if t.Signal != 0 {
		return fmt.Sprintf("Signal:%d", t.Signal)
	}
	return fmt.Sprintf("ExitCode:%d", t.ExitCode)
}

// PodRows are the pods' rows, in their order.
func PodRows(pods []corev1.Pod, now time.Time) []PodRow {
	rows := make([]PodRow, 0, len(pods))
	for i := range pods {
		rows = append(rows, PodRowOf(&pods[i], now))
	}
	return rows
}
