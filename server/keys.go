package server

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/meta"
)

// serverKey is a secret every instance sharing the metadata store signs
// with: the token signing key (PEM), the session key (raw bytes).
type serverKey struct {
	Name      string    `json:"name"`
	Value     []byte    `json:"value"`
	CreatedAt time.Time `json:"createdAt"`
}

// serverKeys is where the shared keys are kept, by name.
var serverKeys = meta.RecordType[serverKey]{Kind: "serverKeys", Key: func(k serverKey) string { return k.Name }}

// The names of the shared keys, and the files earlier versions generated
// them into, which the first start of this version imports.
const (
	tokenKeyName   = "token"
	sessionKeyName = "session"
	legacyTokenKey = "token-key.pem"
	legacySession  = "session-key"
)

// sharedKey returns the key name kept in store, creating it first from
// candidate when there is none. Creating is one transaction that reads,
// then writes only if still absent: of instances starting together on an
// empty store, the store lets one write (a serializable backend runs the
// others again, and they read it), so all end up with the same key.
func sharedKey(ctx context.Context, store meta.Store, name string, candidate func() ([]byte, error)) ([]byte, error) {
	var out []byte
	err := store.View(ctx, func(tx meta.Tx) error {
		k, err := serverKeys.In(tx).Get(name)
		out = k.Value
		return err
	})
	if err == nil || !errors.Is(err, meta.ErrNotFound) {
		return out, err
	}
	fresh, err := candidate()
	if err != nil {
		return nil, err
	}
	err = store.Update(ctx, func(tx meta.Tx) error {
		k, err := serverKeys.In(tx).Get(name)
		switch {
		case err == nil:
			out = k.Value // another instance was first
			return nil
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		out = fresh
		return serverKeys.In(tx).Put(serverKey{Name: name, Value: fresh, CreatedAt: time.Now().UTC()})
	})
	return out, err
}

// tokenKey is the token signing key: the one in auth.tokenKey's file
// when set, else the one kept in the store (imported from
// <dataDir>/token-key.pem where an earlier version generated it, else
// generated), so that a token one instance issues verifies on every
// other.
func tokenKey(ctx context.Context, cfg Config, store meta.Store) (crypto.Signer, error) {
	if path := cfg.Auth.TokenKey; path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("auth.tokenKey: %w", err)
		}
		k, err := token.ParseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("auth.tokenKey: %s: %w", path, err)
		}
		return k, nil
	}
	raw, err := sharedKey(ctx, store, tokenKeyName, func() ([]byte, error) {
		legacy := filepath.Join(cfg.DataDir, legacyTokenKey)
		raw, err := os.ReadFile(legacy)
		switch {
		case err == nil:
			if _, err := token.ParseKey(raw); err != nil {
				return nil, fmt.Errorf("%s: %w", legacy, err)
			}
			return raw, nil
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
		k, err := token.GenerateKey()
		if err != nil {
			return nil, err
		}
		return token.MarshalKey(k)
	})
	if err != nil {
		return nil, fmt.Errorf("auth: token key: %w", err)
	}
	k, err := token.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("auth: the token key kept in the metadata store: %w", err)
	}
	return k, nil
}

// sessionKey is the key that signs session cookies: auth.sessionKey's
// file when set, else the one kept in the store (imported from
// <dataDir>/session-key where an earlier version generated it, else
// generated), so that a session cookie one instance sets is accepted by
// every other.
func sessionKey(ctx context.Context, cfg Config, store meta.Store) ([]byte, error) {
	if path := cfg.Auth.SessionKey; path != "" {
		k, err := readSecret(path)
		if err != nil {
			return nil, fmt.Errorf("auth.sessionKey: %w", err)
		}
		return k, nil
	}
	k, err := sharedKey(ctx, store, sessionKeyName, func() ([]byte, error) {
		k, err := readSecret(filepath.Join(cfg.DataDir, legacySession))
		if errors.Is(err, os.ErrNotExist) {
			return session.GenerateKey(), nil
		}
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("auth: session key: %w", err)
	}
	return k, nil
}

// readSecret reads session.MinKeySize or more secret bytes from path.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) < session.MinKeySize {
		err = fmt.Errorf("%s holds %d bytes, fewer than %d", path, len(b), session.MinKeySize)
	}
	return b, err
}
