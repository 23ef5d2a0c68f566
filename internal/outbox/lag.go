package outbox

import (
	"context"
	"time"
)

// sampleLag samples the outbox lag now and every LagInterval until ctx ends,
// whether or not this relay holds the lease or reaches the broker.
func (r *Relay) sampleLag(ctx context.Context) {
	t := time.NewTicker(r.cfg.LagInterval)
	defer t.Stop()
	for {
		r.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sample sets the lag to the age of the outbox's oldest entry, or zero when
// it is empty; it leaves it as is when Redis does not answer.
func (r *Relay) sample(ctx context.Context) {
	first, err := r.rdb.XRangeN(ctx, r.cfg.Stream, "-", "+", 1).Result()
	if err != nil {
		if ctx.Err() == nil {
			r.log.Debug("sample the outbox lag", "error", err)
		}
		return
	}
	var lag time.Duration
	if len(first) > 0 {
		lag = max(time.Since(entryTime(first[0].ID)), 0)
	}
	r.lagNanos.Store(int64(lag))
	r.metrics.lag(r.cfg.Name, lag)
}
