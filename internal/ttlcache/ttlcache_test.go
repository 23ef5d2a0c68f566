package ttlcache

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestGetPutRemove(t *testing.T) {
	c := New[string, int](2, time.Hour)
	if _, ok := c.Get("a"); ok {
		t.Fatal("empty cache answered a")
	}
	c.Put("a", 1)
	c.Put("b", 2)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("a = %d, %v; want 1, true", v, ok)
	}
	c.Put("c", 3) // b is the least recently used
	if _, ok := c.Get("b"); ok {
		t.Fatal("b outlived the size bound")
	}
	c.Remove("a")
	if _, ok := c.Get("a"); ok {
		t.Fatal("a answered after Remove")
	}
	if v, ok := c.Get("c"); !ok || v != 3 {
		t.Fatalf("c = %d, %v; want 3, true", v, ok)
	}
}

func TestEntriesExpire(t *testing.T) {
	c := New[string, int](10, time.Millisecond)
	c.Put("a", 1)
	time.Sleep(5 * time.Millisecond)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a answered past its TTL")
	}
	c.Put("a", 2) // a new Put starts a new TTL
	if v, ok := c.Get("a"); !ok || v != 2 {
		t.Fatalf("a = %d, %v; want 2, true", v, ok)
	}
}

// TestConcurrentUse is for the race detector (the project's race run):
// it fails on a data race in the cache.
func TestConcurrentUse(t *testing.T) {
	c := New[string, int](16, time.Hour)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := fmt.Sprint((g + i) % 32)
				c.Put(k, i)
				c.Get(k)
				if i%7 == 0 {
					c.Remove(k)
				}
			}
		})
	}
	wg.Wait()
}
