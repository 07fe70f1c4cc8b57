package cmd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/edition"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/exitcode"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/output"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/preflight"
)

// TargetFlags are --chunk and --meta, shared by preflight and scale.
type TargetFlags struct {
	chunk, meta       int
	chunkSet, metaSet bool
	Target            preflight.Target
	// ChunkIDs name the chunks of the chunk pods a scale-in removes, highest ordinal first.
	ChunkIDs []int64
	// NoChunk are the removed pods a person checked by hand hold no chunk; Unregistered the
	// chunks a person checked by hand have left IOMesh.
	NoChunk      []string
	Unregistered []int64
}

// AddFlags binds --chunk and --meta.
func (t *TargetFlags) AddFlags(c *cobra.Command) {
	c.Flags().Var(edition.NewCountValue(&t.chunk, &t.chunkSet), "chunk", fmt.Sprintf("Target number of chunk pods (the total, %d to %d)", edition.ChunkMin, edition.ChunkMax))
	c.Flags().Var(edition.NewCountValue(&t.meta, &t.metaSet), "meta", fmt.Sprintf("Target number of meta pods (%d or %d)", edition.MetaSmall, edition.MetaLarge))
	c.Flags().Int64SliceVar(&t.ChunkIDs, "chunk-id", nil, "Scale-in: the chunk ID each removed chunk pod serves, highest ordinal first (repeatable), where IOMesh's report cannot tell (see the chunks with `kubectl iomesh status`)")
	c.Flags().StringSliceVar(&t.NoChunk, "no-chunk", nil, "Scale-in: a removed chunk pod that holds no chunk, checked by hand (`iomeshctl chunk list` on the meta leader) where IOMesh's report lists none for it (repeatable)")
	c.Flags().Int64SliceVar(&t.Unregistered, "chunk-unregistered", nil, "Scale-in: a chunk checked by hand to have left IOMesh, where no run saw its unregister finish (repeatable)")
}

// Complete reads which counts were given.
func (t *TargetFlags) Complete(*cobra.Command) {
	t.Target = preflight.Target{}
	if t.chunkSet {
		v := t.chunk
		t.Target.Chunk = &v
	}
	if t.metaSet {
		v := t.meta
		t.Target.Meta = &v
	}
}

// Validate refuses counts that are not counts at all; the IOMesh rules are checks, not usage.
func (t *TargetFlags) Validate() error {
	if t.Target.Chunk != nil && *t.Target.Chunk < 1 {
		return exitcode.UsageError(fmt.Errorf("--chunk %d is not a pod count: give the total number of chunk pods you want, %d to %d", *t.Target.Chunk, edition.ChunkMin, edition.ChunkMax))
	}
	for _, id := range t.ChunkIDs {
		if id < 1 {
			return exitcode.UsageError(fmt.Errorf("--chunk-id %d is not a chunk ID: give the id IOMesh lists in status.summary.chunkSummary.chunks[]", id))
		}
	}
	if err := iomeshcluster.CheckIDs(t.ChunkIDs, len(t.ChunkIDs)); err != nil {
		return exitcode.UsageError(err)
	}
	for _, id := range t.Unregistered {
		if id < 1 {
			return exitcode.UsageError(fmt.Errorf("--chunk-unregistered %d is not a chunk ID: give the id of a chunk that has left IOMesh", id))
		}
	}
	if (len(t.ChunkIDs) > 0 || len(t.NoChunk) > 0 || len(t.Unregistered) > 0) && t.Target.Chunk == nil {
		return exitcode.UsageError(fmt.Errorf("--chunk-id, --no-chunk and --chunk-unregistered speak of the chunk pods removed: give --chunk N too"))
	}
	if len(t.ChunkIDs) > 0 && t.Target.Chunk == nil {
		return exitcode.UsageError(fmt.Errorf("--chunk-id names the chunks of the chunk pods removed: give --chunk N too"))
	}
	if t.Target.Meta != nil && *t.Target.Meta < 1 {
		return exitcode.UsageError(fmt.Errorf("--meta %d is not a pod count: give %d or %d", *t.Target.Meta, edition.MetaSmall, edition.MetaLarge))
	}
	return nil
}

// CheckFlags are --skip-check, --fail-on-warning and --color.
type CheckFlags struct {
	// Extra are check IDs the command adds to preflight's (completion).
	Extra         []string
	SkipChecks    []string
	FailOnWarning bool
	Color         output.Mode
	ColorEnv      output.Env
}

// AddFlags binds the flags.
func (f *CheckFlags) AddFlags(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.SkipChecks, "skip-check", nil, "Check ID to skip (repeatable); skipped checks are listed as skipped")
	c.Flags().BoolVar(&f.FailOnWarning, "fail-on-warning", false, "Exit 4 when checks pass with warnings")
	f.Color = output.Auto
	c.Flags().Var(&f.Color, "color", "Colour and Unicode marks: always, auto (a terminal without NO_COLOR) or never")
	_ = c.RegisterFlagCompletionFunc("color", fixed([]string{"always", "auto", "never"}))
	_ = c.RegisterFlagCompletionFunc("skip-check", fixed(append(preflight.IDs(), f.Extra...)))
}

// Skip validates --skip-check and returns the set; extra names checks outside preflight that the
// caller also knows.
func (f *CheckFlags) Skip(extra ...string) (map[string]bool, error) {
	known := map[string]bool{}
	for _, id := range append(preflight.IDs(), extra...) {
		known[id] = true
	}
	skip := map[string]bool{}
	for _, id := range f.SkipChecks {
		if !known[id] {
			ids := append(preflight.IDs(), extra...)
			sort.Strings(ids)
			return nil, exitcode.UsageError(fmt.Errorf("--skip-check %q is not a check; known checks: %s", id, strings.Join(ids, ", ")))
		}
		skip[id] = true
	}
	return skip, nil
}
