package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/luikyv/go-oidc/pkg/goidc"
)

// MemoryStorage keeps sessions and grants of one brand in memory. It is
// only correct for a single replica (tests and demo mode); authz/store is
// the SQL implementation. Every read returns a copy made through JSON, as
// a database would, so code that works against it does not depend on
// sharing pointers with the store.
type MemoryStorage struct {
	mu       sync.Mutex
	sessions map[string][]byte
	grants   map[string][]byte
	created  map[string]int // grant id -> created_at, for eviction
	jti      *memoryJTI
	max      int
}

var (
	_ goidc.GrantManager        = (*MemoryStorage)(nil)
	_ goidc.AuthManager         = (*MemoryStorage)(nil)
	_ goidc.PARManager          = (*MemoryStorage)(nil)
	_ goidc.RefreshTokenManager = (*MemoryStorage)(nil)
	_ ConsentGrantRevoker       = (*MemoryStorage)(nil)
)

// memoryMax bounds each map; past it the oldest entries are dropped.
const memoryMax = 100_000

// NewMemoryStorage returns an empty in-memory store.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{sessions: map[string][]byte{}, grants: map[string][]byte{}, created: map[string]int{},
		jti: newMemoryJTI(time.Now), max: memoryMax}
}

// Storage returns the go-oidc managers backed by m.
func (m *MemoryStorage) Storage() *Storage {
	return &Storage{Grants: m, Auth: m, PAR: m, Refresh: m, ConsumeJTI: m.jti.consume}
}

func copyInto[T any](data []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("server: memory storage decode: %w", err)
	}
	return v, nil
}

// SaveSession implements goidc.AuthManager.
func (m *MemoryStorage) SaveSession(_ context.Context, as *goidc.AuthnSession) error {
	b, err := json.Marshal(as)
	if err != nil {
		return fmt.Errorf("server: memory storage encode session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sessions) >= m.max {
		now := int(time.Now().Unix())
		for id, doc := range m.sessions {
			s, err := copyInto[goidc.AuthnSession](doc)
			if err != nil || s.ExpiresAt < now {
				delete(m.sessions, id)
			}
		}
	}
	m.sessions[as.ID] = b
	return nil
}

// Session implements goidc.AuthManager.
func (m *MemoryStorage) Session(_ context.Context, id string) (*goidc.AuthnSession, error) {
	m.mu.Lock()
	doc, ok := m.sessions[id]
	m.mu.Unlock()
	if !ok {
		return nil, goidc.ErrNotFound
	}
	return copyInto[goidc.AuthnSession](doc)
}

// SessionByPushedAuthReqID implements goidc.PARManager.
func (m *MemoryStorage) SessionByPushedAuthReqID(_ context.Context, id string) (*goidc.AuthnSession, error) {
	return m.findSession(func(s *goidc.AuthnSession) bool { return id != "" && s.PushedAuthReqID == id })
}

func (m *MemoryStorage) findSession(match func(*goidc.AuthnSession) bool) (*goidc.AuthnSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, doc := range m.sessions {
		s, err := copyInto[goidc.AuthnSession](doc)
		if err != nil {
			return nil, err
		}
		if match(s) {
			return s, nil
		}
	}
	return nil, goidc.ErrNotFound
}

// SaveGrant implements goidc.GrantManager.
func (m *MemoryStorage) SaveGrant(_ context.Context, g *goidc.Grant) error {
	b, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("server: memory storage encode grant: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, exists := m.grants[g.ID]; !exists && len(m.grants) >= m.max {
		oldest, at := "", 0
		for id, c := range m.created {
			if oldest == "" || c < at {
				oldest, at = id, c
			}
		}
		delete(m.grants, oldest)
		delete(m.created, oldest)
	}
	m.grants[g.ID] = b
	m.created[g.ID] = g.CreatedAt
	return nil
}

// Grant implements goidc.GrantManager.
func (m *MemoryStorage) Grant(_ context.Context, id string) (*goidc.Grant, error) {
	m.mu.Lock()
	doc, ok := m.grants[id]
	m.mu.Unlock()
	if !ok {
		return nil, goidc.ErrNotFound
	}
	return copyInto[goidc.Grant](doc)
}

// GrantByAuthCode implements goidc.AuthManager.
func (m *MemoryStorage) GrantByAuthCode(_ context.Context, code string) (*goidc.Grant, error) {
	return m.findGrant(func(g *goidc.Grant) bool { return code != "" && g.AuthCode == code })
}

// GrantByRefreshToken implements goidc.RefreshTokenManager.
func (m *MemoryStorage) GrantByRefreshToken(_ context.Context, tkn string) (*goidc.Grant, error) {
	return m.findGrant(func(g *goidc.Grant) bool { return tkn != "" && g.RefreshToken == tkn })
}

func (m *MemoryStorage) findGrant(match func(*goidc.Grant) bool) (*goidc.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, doc := range m.grants {
		g, err := copyInto[goidc.Grant](doc)
		if err != nil {
			return nil, err
		}
		if match(g) {
			return g, nil
		}
	}
	return nil, goidc.ErrNotFound
}

// RevokeGrantsByConsent revokes every grant whose scopes carry
// consent:<consentID> (ConsentGrantRevoker).
func (m *MemoryStorage) RevokeGrantsByConsent(_ context.Context, consentID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	now := int(time.Now().Unix())
	for id, doc := range m.grants {
		g, err := copyInto[goidc.Grant](doc)
		if err != nil {
			return n, err
		}
		if g.RevokedAt != 0 || ConsentIDOf(g.Scopes) != consentID {
			continue
		}
		g.RevokedAt = now
		b, err := json.Marshal(g)
		if err != nil {
			return n, fmt.Errorf("server: memory storage encode grant: %w", err)
		}
		m.grants[id] = b
		n++
	}
	return n, nil
}
