package cmd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/inventory"
	tf "github.com/kubectl-iomesh/kubectl-iomesh/pkg/testfixture"
)

// A two-step scale-in stops in step 2 (step 1's pod gone, step 2's unregister running): the
// same command, given again with both ids, sets aside the id of the pod the Lease records
// removed and finishes.
func TestSameCommandFinishesWhenStoppedInStep2(t *testing.T) {
	e, x := scaleInEnv(t, "")
	m := simulate(t, e, x)
	release := make(chan struct{})
	var once sync.Once
	x.fail = func(cmd []string) error {
		if len(cmd) == 4 && cmd[2] == "unregister" && cmd[3] == "4" {
			blocked := false
			once.Do(func() { blocked = true })
			if blocked {
				<-release // step 2's iomeshctl runs on past the run's --timeout
			}
		}
		return nil
	}
	args := []string{"scale", "--chunk", "3", "--chunk-id", "5", "--chunk-id", "4", "--yes"}
	_, errOut, err := e.run(t, append(args, "--timeout", "15s")...)
	close(release)
	lease, lerr := e.clients.Kube.CoordinationV1().Leases(tf.Namespace).Get(context.Background(), tf.Release+"-scale-in", metav1.GetOptions{})
	if err == nil || len(e.history(t)) != 2 || lerr != nil || lease.Annotations[inventory.UnregisteringAnnotation] != "4" {
		t.Fatalf("setup: want a stop in step 2's unregister after step 1's lower: %v, %d revisions, lease %v\n%s", err, len(e.history(t)), lerr, errOut)
	}
	t.Logf("Lease annotations after the stop: %v", lease.Annotations)
	_, errOut2, err2 := e.run(t, args...)
	if err2 != nil {
		t.Fatalf("the same command, given again with every --chunk-id, does not finish what the run stopped in step 2 left (doc: ids of pods already removed are set aside):\n%v\n%s", err2, errOut2)
	}
	if _, lost := m.state(); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
}

// The command that continues a scale-in keeps --server and --as: without them it would act on
// another cluster, or as another identity.
func TestResumeCommandKeepsServerAndImpersonation(t *testing.T) {
	resume := resumeAfterAFailedUnregister(t, "--server", "https://prod-b:6443", "--as", "storage-admin", "--chunk", "4", "--yes")
	for _, want := range []string{"--server https://prod-b:6443", "--as storage-admin"} {
		if !strings.Contains(resume, want) {
			t.Errorf("the command that continues the scale-in drops %q: %s", want, resume)
		}
	}
}

// Without --context the run acts on the current context; the command that continues names it,
// so that a `kubectl config use-context` in between does not point it at another cluster.
func TestResumeCommandPinsTheContextItRanAgainst(t *testing.T) {
	kc := t.TempDir() + "/config"
	const config = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: prod-a
  context: {cluster: a, user: u}
- name: prod-b
  context: {cluster: b, user: u}
current-context: prod-a
`
	if err := os.WriteFile(kc, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	resume := resumeAfterAFailedUnregister(t, "--kubeconfig", kc, "--chunk", "4", "--yes")
	if !strings.Contains(resume, "--context prod-a") {
		t.Fatalf("the run acted on context prod-a; the command that continues it does not name it, and follows the current context when run: %s", resume)
	}
}

// resumeAfterAFailedUnregister runs scale with args, the unregister failing, and returns the
// command the run prints to continue.
func resumeAfterAFailedUnregister(t *testing.T, args ...string) string {
	t.Helper()
	e, x := scaleInEnv(t, "")
	_ = simulate(t, e, x)
	x.fail = func(cmd []string) error {
		if len(cmd) > 2 && cmd[1] == "chunk" && cmd[2] == "unregister" {
			return fmt.Errorf("command terminated with exit code 1")
		}
		return nil
	}
	_, errOut, err := e.run(t, append([]string{"scale"}, args...)...)
	if err == nil {
		t.Fatal("setup: the unregister was to fail")
	}
	all := errOut + err.Error()
	i := strings.Index(all, "run `kubectl iomesh scale")
	if i < 0 {
		t.Fatalf("no resume command:\n%s", all)
	}
	resume := all[i+5:]
	return resume[:strings.Index(resume, "`")]
}
