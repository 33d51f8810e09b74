package dcr

import (
	"bytes"
	"context"
	"slices"
	"sync"
)

// MemoryStore is a Store in memory, for tests and single-process demos.
type MemoryStore struct {
	mu      sync.Mutex
	clients map[string]Client
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{clients: map[string]Client{}} }

func (s *MemoryStore) statementTaken(hash []byte, except string) bool {
	for id, c := range s.clients {
		if id != except && bytes.Equal(c.StatementHash, hash) {
			return true
		}
	}
	return false
}

// Create implements Store.
func (s *MemoryStore) Create(_ context.Context, c Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok || s.statementTaken(c.StatementHash, "") {
		return ErrDuplicate
	}
	s.clients[c.ID] = clone(c)
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, brand, id string) (Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok || c.Brand != brand {
		return Client{}, ErrNotFound
	}
	return clone(c), nil
}

// Update implements Store.
func (s *MemoryStore) Update(_ context.Context, c Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.clients[c.ID]
	if !ok || old.Brand != c.Brand {
		return ErrNotFound
	}
	if s.statementTaken(c.StatementHash, c.ID) {
		return ErrDuplicate
	}
	c.IssuedAt = old.IssuedAt
	s.clients[c.ID] = clone(c)
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, brand, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[id]; !ok || c.Brand != brand {
		return ErrNotFound
	}
	delete(s.clients, id)
	return nil
}

func clone(c Client) Client {
	c.TokenHash = bytes.Clone(c.TokenHash)
	c.StatementHash = bytes.Clone(c.StatementHash)
	c.Metadata.RedirectURIs = slices.Clone(c.Metadata.RedirectURIs)
	c.Metadata.WebhookURIs = slices.Clone(c.Metadata.WebhookURIs)
	c.Metadata.GrantTypes = slices.Clone(c.Metadata.GrantTypes)
	c.Metadata.ResponseTypes = slices.Clone(c.Metadata.ResponseTypes)
	return c
}
