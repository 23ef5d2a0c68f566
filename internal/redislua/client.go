package redislua

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient returns a client of the Redis at rawURL without connecting to
// it. A URL with addr= parameters ("redis://h1:6379?addr=h2:6379&addr=h3:6379",
// go-redis's cluster form, parsed by redis.ParseClusterURL) gives a Redis
// Cluster client seeded with every address; any other URL (redis.ParseURL)
// gives a client of one Redis. Both take rediss:// for TLS and the
// credentials in the URL.
//
// The URL may also say wait_replicas=N (and wait_timeout, default 100ms):
// the stores then call WaitReplicas after each barrier and outbox write, so
// an acknowledged write is on N replicas before the saga moves on. The
// option is read here and removed before go-redis parses the URL;
// WaitOf(client) returns it.
//
// Errors never repeat the URL (it may hold a password).
func NewClient(rawURL string) (redis.UniversalClient, error) {
	clean, w, err := cutWait(rawURL)
	if err != nil {
		return nil, err
	}
	var c redis.UniversalClient
	if u, err := url.Parse(clean); err == nil && u.Query().Has("addr") {
		opts, err := redis.ParseClusterURL(clean)
		if err != nil {
			return nil, urlError(err)
		}
		c = redis.NewClusterClient(opts)
	} else {
		opts, err := redis.ParseURL(clean)
		if err != nil {
			return nil, urlError(err)
		}
		c = redis.NewClient(opts)
	}
	if w.replicas > 0 {
		waits.Store(c, w)
	}
	return c, nil
}

// urlError drops the URL that url.Error repeats (password and all).
func urlError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// wait is a client's wait_replicas option.
type wait struct {
	replicas int
	timeout  time.Duration
}

// cutWait removes wait_replicas and wait_timeout from rawURL's query and
// returns them.
func cutWait(rawURL string) (string, wait, error) {
	if !strings.Contains(rawURL, "wait_") {
		return rawURL, wait{}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", wait{}, urlError(err)
	}
	q := u.Query()
	w := wait{timeout: 100 * time.Millisecond}
	if v := q.Get("wait_replicas"); v != "" {
		if w.replicas, err = strconv.Atoi(v); err != nil || w.replicas < 0 {
			return "", wait{}, fmt.Errorf("wait_replicas=%q: want a number of replicas", v)
		}
	}
	if v := q.Get("wait_timeout"); v != "" {
		if w.timeout, err = time.ParseDuration(v); err != nil || w.timeout <= 0 {
			return "", wait{}, fmt.Errorf("wait_timeout=%q: want a duration such as 100ms", v)
		}
	}
	q.Del("wait_replicas")
	q.Del("wait_timeout")
	u.RawQuery = q.Encode()
	return u.String(), w, nil
}

// ForEachNode calls fn with a client of each master of a cluster client
// (concurrently, one goroutine per master), or with rdb itself.
func ForEachNode(ctx context.Context, rdb redis.Cmdable, fn func(ctx context.Context, node redis.Cmdable) error) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return fn(ctx, c) })
	}
	return fn(ctx, rdb)
}
