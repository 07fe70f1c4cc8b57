package cmd

import (
	"helm.sh/helm/v4/pkg/action"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// SetClients injects fixture clients in place of the kubeconfig's, as kubectl's test factory does.
func (c *Common) SetClients(k kubernetes.Interface, d dynamic.Interface, h *action.Configuration) {
	c.kube, c.dyn, c.helm = k, d, h
	c.helmFor = func(string) (*action.Configuration, error) { return h, nil }
	c.restConfig = &rest.Config{Host: "injected"}
}
