package inventory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gwebsocket "github.com/gorilla/websocket"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// An exec stream cut while iomeshctl still runs (a kubelet or API server restart, a proxy's
// idle timeout) can close with no status on the error channel, which client-go reports as
// success (kubernetes/kubernetes#73056). Reader.IOMeshctl reports it as ErrNoStatus.
func TestIOMeshctlCutStreamIsNoStatus(t *testing.T) {
	up := gwebsocket.Upgrader{Subprotocols: []string{"v5.channel.k8s.io", "v4.channel.k8s.io"}, CheckOrigin: func(*http.Request) bool { return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		// iomeshctl runs and prints nothing for a while; then the connection is closed under
		// it: no exit status is ever sent on the error channel (3).
		time.Sleep(200 * time.Millisecond)
		_ = c.WriteMessage(gwebsocket.CloseMessage, gwebsocket.FormatCloseMessage(gwebsocket.CloseNormalClosure, ""))
		time.Sleep(100 * time.Millisecond)
		_ = c.Close()
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := RemoteExecutor{Config: cfg, Kube: kube}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// client-go reports the cut as the command's success...
	if _, _, err = x.Exec(ctx, "iomesh-system", "iomesh-meta-0", MetaContainer, []string{IOMeshctl, "chunk", "unregister", "5"}); err != nil {
		t.Logf("client-go now reports a cut stream: %v", err)
	}
	// ...so iomeshctl's own exit status, printed after it, is what proves it ran to its end.
	r := Reader{Namespace: "iomesh-system", Exec: x}
	if _, err := r.IOMeshctl(ctx, "iomesh-meta-0", "chunk", "unregister", "5"); !errors.Is(err, ErrNoStatus) {
		t.Fatalf("a stream closed before iomeshctl's exit status arrived: %v, want ErrNoStatus", err)
	}
}
