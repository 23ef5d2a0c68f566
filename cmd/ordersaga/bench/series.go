package bench

import (
	"fmt"
	"slices"
	"time"
)

// Rejected is the error of a start the system shed (HTTP 429): the order
// was refused before anything happened, and may be placed again after
// RetryAfter.
type Rejected struct {
	RetryAfter time.Duration
	Detail     string
}

func (e *Rejected) Error() string {
	return fmt.Sprintf("rejected (retry after %s): %s", e.RetryAfter, e.Detail)
}

// Point is one bucket of a run's time series: what ended in [T, T+Width).
type Point struct {
	// T is the bucket's start, in seconds from the run's start.
	T float64 `json:"t_s"`
	// Width is the bucket's width in seconds.
	Width float64 `json:"width_s"`
	// Completed and Rejected count the sagas that completed, and the
	// orders that were shed, in the bucket.
	Completed int `json:"completed"`
	Rejected  int `json:"rejected"`
	// EndToEnd are the percentiles of the end-to-end latency of the sagas
	// that completed in the bucket.
	EndToEnd Latencies `json:"end_to_end_latency_ns"`
}

// maxPoints bounds a series' length; buckets are at least a second wide.
const maxPoints = 120

// series buckets samples by the time they ended.
func series(samples []sample, elapsed time.Duration) []Point {
	if elapsed <= 0 {
		return nil
	}
	width := max(time.Second, (elapsed+maxPoints-1)/maxPoints).Round(time.Second)
	n := int((elapsed + width - 1) / width)
	points := make([]Point, n)
	e2es := make([][]time.Duration, n)
	for i := range points {
		points[i].T, points[i].Width = (time.Duration(i) * width).Seconds(), width.Seconds()
	}
	for _, s := range samples {
		i := min(n-1, int(s.end/width))
		switch {
		case s.rejected:
			points[i].Rejected++
		case s.err == "":
			points[i].Completed++
			e2es[i] = append(e2es[i], s.e2e)
		}
	}
	for i := range points {
		points[i].EndToEnd = percentiles(slices.Clone(e2es[i]))
	}
	return points
}
