package accounts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// The credential cache's defaults (WithCredentialCache).
const (
	defaultCacheTTL  = time.Minute
	defaultCacheSize = 10000
)

// WithCredentialCache sets how long a verified name and secret is
// remembered (ttl, 1 minute by default; 0 or less turns the cache off)
// and how many are (size, 10000 by default). Clients sending basic
// credentials on every registry request then cost a bcrypt comparison
// (tens of milliseconds) once per ttl instead of every time.
//
// A cached verification holds no secret: its key is an HMAC of name and
// secret under a random per-process key, so only the same secret finds
// it. Every hit re-reads the account and is refused unless the stored
// password or secret hash is the one verified and the account is still
// usable (enabled, unexpired, of the same source): a changed password or
// secret, a disabled or deleted account are refused at once, also when
// another process sharing the store made the change. A directory's
// verification cannot be re-checked that way: a password changed or an
// account disabled in the directory is noticed within ttl.
func WithCredentialCache(ttl time.Duration, size int) Option {
	return func(m *Manager) {
		m.creds.ttl, m.creds.size = ttl, size
		if size <= 0 {
			m.creds.size = defaultCacheSize
		}
	}
}

// credCache remembers verified credentials.
type credCache struct {
	ttl  time.Duration
	size int
	key  [32]byte

	macs sync.Pool // of HMAC-SHA256 hashes keyed with key

	mu      sync.Mutex
	entries map[[32]byte]credEntry
}

// credEntry is one verified name and secret.
type credEntry struct {
	// proof is the stored hash the secret matched; nil for a directory's
	// verification.
	proof []byte
	// directory is the principal the directory vouched for.
	directory auth.Principal
	expires   time.Time
}

func newCredCache() *credCache {
	c := &credCache{ttl: defaultCacheTTL, size: defaultCacheSize}
	_, _ = rand.Read(c.key[:])
	c.macs.New = func() any { return hmac.New(sha256.New, c.key[:]) }
	return c
}

func (c *credCache) on() bool { return c.ttl > 0 }

// id is the cache key of name and secret.
func (c *credCache) id(name, secret string) [32]byte {
	h := c.macs.Get().(hash.Hash)
	defer c.macs.Put(h)
	h.Reset()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(name)))])
	_, _ = io.WriteString(h, name)
	_, _ = io.WriteString(h, secret)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *credCache) get(k [32]byte, now time.Time) (credEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.expires) {
		delete(c.entries, k)
		ok = false
	}
	return e, ok
}

func (c *credCache) put(k [32]byte, e credEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[32]byte]credEntry)
	}
	if len(c.entries) >= c.size {
		for id, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, id)
			}
		}
		for id := range c.entries { // still full: drop some at random
			if len(c.entries) < c.size {
				break
			}
			delete(c.entries, id)
		}
	}
	c.entries[k] = e
}

func (c *credCache) drop(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

// cached returns the principal of a cached verification of name that
// still holds, re-reading the account.
func (m *Manager) cached(ctx context.Context, name string, e credEntry) (auth.Principal, bool, error) {
	var (
		p  auth.Principal
		ok bool
	)
	err := m.store.View(ctx, func(tx meta.Tx) error {
		if IsRobot(name) {
			r, err := Robots.In(tx).Get(name)
			if err != nil {
				return err
			}
			p = auth.Principal{Name: r.Name, Kind: auth.Robot}
			ok = e.proof != nil && bytes.Equal(r.SecretHash, e.proof) && m.robotUsable(r)
			return nil
		}
		if e.proof != nil {
			u, err := Users.In(tx).Get(name)
			if err != nil {
				return err
			}
			hash := u.PasswordHash
			if u.Source == SourceOIDC {
				hash = u.CLISecretHash
			}
			p, ok = userPrincipal(u), u.Source != SourceLDAP && !u.Disabled && bytes.Equal(hash, e.proof)
			return nil
		}
		// A directory's verification: neither spelling may have become
		// another source's account, or a disabled one.
		for _, n := range []string{name, strings.ToLower(name)} {
			u, err := Users.In(tx).Get(n)
			if err == nil && (u.Source != SourceLDAP || u.Disabled) {
				return nil
			}
			if err != nil && !errors.Is(err, meta.ErrNotFound) {
				return err
			}
		}
		p, ok = e.directory, true
		p.Groups = slices.Clone(p.Groups)
		return nil
	})
	if errors.Is(err, meta.ErrNotFound) {
		return auth.Principal{}, false, nil
	}
	return p, ok, err
}
