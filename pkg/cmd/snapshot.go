package cmd

import (
	"context"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/snapshot"
)

// Snapshot reads the release and the cluster once, through the command's clients.
func (c *Common) Snapshot(ctx context.Context, opt snapshot.Options) (*snapshot.Snapshot, error) {
	reader, err := c.Reader()
	if err != nil {
		return nil, err
	}
	helm, err := c.Helm()
	if err != nil {
		return nil, err
	}
	opt.Now = c.Now()
	return snapshot.Read(ctx, snapshot.Sources{Reader: reader, Helm: helm}, opt)
}
