package admission

import (
	"sync"

	"github.com/imagegate/imagegate/internal/policy"
)

// maxParsed bounds the parse cache; a cluster runs far fewer distinct
// references, and a full cache is simply emptied.
const maxParsed = 8192

// parseCache remembers parsed references: parsing with
// go-containerregistry's name package is the largest cost of deciding
// about a recorded digest, and the same references come back with every
// Pod a ReplicaSet creates. Parsing is a pure function, so a cached result
// is always right.
type parseCache struct {
	mu sync.RWMutex
	m  map[string]parsed
}

type parsed struct {
	img policy.Image
	err error
}

func (c *parseCache) parse(ref string) (policy.Image, error) {
	c.mu.RLock()
	p, ok := c.m[ref]
	c.mu.RUnlock()
	if ok {
		return p.img, p.err
	}
	img, err := policy.ParseImage(ref)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxParsed {
		c.m = make(map[string]parsed, 64)
	}
	c.m[ref] = parsed{img: img, err: err}
	c.mu.Unlock()
	return img, err
}

// parseWith parses through c when there is one.
func parseWith(c *parseCache, ref string) (policy.Image, error) {
	if c == nil {
		return policy.ParseImage(ref)
	}
	return c.parse(ref)
}
