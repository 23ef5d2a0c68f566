// Package fairshare counts the orders each client had admitted over a
// recent window, in Redis so that every replica of the API sees the same
// counts: admission control uses them, under overload, to admit the
// clients below their fair share first.
package fairshare

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config configures Shares.
type Config struct {
	// Window is how far back admitted orders count (default 10s), in
	// buckets of Bucket (default 1s).
	Window time.Duration
	Bucket time.Duration
}

func (c *Config) setDefaults() {
	if c.Window <= 0 {
		c.Window = 10 * time.Second
	}
	if c.Bucket <= 0 {
		c.Bucket = time.Second
	}
	c.Window = max(c.Window, c.Bucket)
}

// Share is a client's part of the orders admitted over the window.
type Share struct {
	// Mine is the client's admitted orders, Total everyone's.
	Mine, Total int64
	// Clients is how many clients had orders admitted, the asking client
	// counted even if it had none: the fair share is Total/Clients.
	Clients int64
}

// Below reports whether the client's share is below the fair one, 1/Clients
// of the total. A client alone is never below it.
func (s Share) Below() bool { return s.Mine*s.Clients < s.Total }

// Shares counts admitted orders per client. It is safe for concurrent use.
type Shares struct {
	rdb    redis.Cmdable
	prefix string
	cfg    Config
	now    func() time.Time
}

// New returns Shares keeping its counts in rdb under prefix, in keys
// <prefix>{w}:<bucket>: one Redis Cluster hash slot, as the script that
// sums the window reads every bucket.
func New(rdb redis.Cmdable, prefix string, cfg Config) *Shares {
	cfg.setDefaults()
	return &Shares{rdb: rdb, prefix: prefix, cfg: cfg, now: time.Now}
}

// buckets returns the keys of the window's buckets, the current first.
func (s *Shares) buckets() []string {
	n := int(s.cfg.Window / s.cfg.Bucket)
	cur := s.now().UnixNano() / int64(s.cfg.Bucket)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = s.prefix + "{w}:" + strconv.FormatInt(cur-int64(i), 10)
	}
	return keys
}

// Admitted counts one admitted order of client.
func (s *Shares) Admitted(ctx context.Context, client string) error {
	key := s.buckets()[0]
	pipe := s.rdb.TxPipeline()
	pipe.HIncrBy(ctx, key, client, 1)
	pipe.PExpire(ctx, key, s.cfg.Window+s.cfg.Bucket)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("fair share: count admitted order: %w", err)
	}
	return nil
}

// shareScript sums the buckets KEYS per client and answers {the client
// ARGV[1]'s count, the total, the clients}.
var shareScript = redis.NewScript(`
local counts = {}
for _, key in ipairs(KEYS) do
  local h = redis.call('HGETALL', key)
  for i = 1, #h, 2 do
    counts[h[i]] = (counts[h[i]] or 0) + tonumber(h[i + 1])
  end
end
local total, clients = 0, 0
for _, n in pairs(counts) do
  total = total + n
  clients = clients + 1
end
local mine = counts[ARGV[1]] or 0
if mine == 0 then clients = clients + 1 end
return {mine, total, clients}`)

// Share returns client's share of the orders admitted over the window.
func (s *Shares) Share(ctx context.Context, client string) (Share, error) {
	out, err := shareScript.Run(ctx, s.rdb, s.buckets(), client).Int64Slice()
	if err != nil || len(out) != 3 {
		return Share{}, fmt.Errorf("fair share: read shares: %w", err)
	}
	return Share{Mine: out[0], Total: out[1], Clients: out[2]}, nil
}
