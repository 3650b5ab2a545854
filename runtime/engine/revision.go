package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
)

// revisionCache keeps decoded revisions: they are immutable, and every page
// of every operation needs its read object.
type revisionCache struct {
	mu sync.Mutex
	m  map[string]*manifest.Integration
}

func (c *revisionCache) get(rev *runtime.Revision) (*manifest.Integration, error) {
	key := rev.ID + "\x00" + rev.Hash
	c.mu.Lock()
	in, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return in, nil
	}
	in, err := DecodeIntegration(rev.Content)
	if err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.ID, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]*manifest.Integration{}
	}
	c.m[key] = in
	c.mu.Unlock()
	return in, nil
}

// DecodeIntegration reads a revision's content: the integration as canonical
// JSON (what amp deploy sends) or as manifest YAML.
func DecodeIntegration(content []byte) (*manifest.Integration, error) {
	data := content
	if !json.Valid(bytes.TrimSpace(content)) {
		f, _ := manifest.Parse("revision", content)
		if f == nil {
			return nil, errors.New("content is neither JSON nor YAML")
		}
		b, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		data = b
	}
	var in manifest.Integration
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("decode integration: %w", err)
	}
	return &in, nil
}

// ReadObject returns the integration's read object for an installation
// config key (the provider object name), or nil.
func ReadObject(in *manifest.Integration, name string) *manifest.ReadObject {
	return in.ReadObject(name)
}
