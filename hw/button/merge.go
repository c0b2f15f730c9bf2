package button

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Merge returns a Source delivering the events of all of sources: GPIO buttons and the
// keyboard together on a booth being tried out at a desk. Run returns when ctx is done and
// every source has returned, or with the first source's error (the others are then
// stopped).
func Merge(sources ...Source) Source {
	if len(sources) == 1 {
		return sources[0]
	}
	return merged(sources)
}

type merged []Source

func (m merged) Run(ctx context.Context, out chan<- Event) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range m {
		g.Go(func() error { return s.Run(gctx, out) })
	}
	return g.Wait()
}
