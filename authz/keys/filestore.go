package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileStore keeps one JWK Set file per brand, <dir>/<brandID>.jwks.json,
// written atomically with mode 0600 in a 0700 directory, each key as
// EncodeRecord writes it. It is safe for one process; replicas share keys
// through an UpdatingStore (authz/store's KeyStore).
type FileStore struct {
	dir string
}

var _ KeyStore = (*FileStore)(nil)

// NewFileStore creates dir (0700) if needed.
func NewFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create key directory %s: %w", dir, err)
	}
	return &FileStore{dir: dir}, nil
}

// Path is the file holding a brand's keys.
func (s *FileStore) Path(brandID string) string {
	return filepath.Join(s.dir, brandID+".jwks.json")
}

// LoadBrand reads the brand's file; a missing file is no keys. A file
// readable by group or others is refused: fix it with chmod 600.
func (s *FileStore) LoadBrand(_ context.Context, brandID string) ([]Record, error) {
	if !validBrandID(brandID) {
		return nil, fmt.Errorf("keys: invalid brand id %q", brandID)
	}
	path := s.Path(brandID)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: stat %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keys: %s has mode %v; private keys must not be readable by others: chmod 600 it", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("keys: %s is not a JWK Set (restore it from backup or delete it to start with new keys)", path)
	}
	records := make([]Record, 0, len(raw.Keys))
	for i, k := range raw.Keys {
		r, err := DecodeRecord(k)
		if err != nil {
			return nil, fmt.Errorf("keys: %s: key %d: %w", path, i, err)
		}
		records = append(records, r)
	}
	return records, nil
}

// SaveBrand writes the brand's file atomically with mode 0600.
func (s *FileStore) SaveBrand(_ context.Context, brandID string, records []Record) error {
	if !validBrandID(brandID) {
		return fmt.Errorf("keys: invalid brand id %q", brandID)
	}
	out := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: make([]json.RawMessage, 0, len(records))}
	for _, r := range records {
		entry, err := EncodeRecord(r)
		if err != nil {
			return err
		}
		out.Keys = append(out.Keys, entry)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("keys: encode brand %s: %w", brandID, err)
	}
	path := s.Path(brandID)
	tmp, err := os.CreateTemp(s.dir, ".tmp-"+brandID+"-*")
	if err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: chmod %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	return nil
}
