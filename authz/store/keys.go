package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ofp-dev/ofp/authz/keys"
)

// KeyStore keeps the authorization server's keys (authz/keys) in the
// store's database, so that every replica signs, publishes and decrypts
// with the same keys: it is a keys.UpdatingStore, whose UpdateBrand holds
// the brand's row lock from the read to the write. Private keys are sealed
// with Options.SealKey (bound to brand and kid); without a seal key they
// are stored as is, readable by whoever reads the database.
type KeyStore struct{ s *Store }

var _ keys.UpdatingStore = (*KeyStore)(nil)

// Keys returns the key store on s's database (all brands).
func (s *Store) Keys() *KeyStore { return &KeyStore{s: s} }

// LoadBrand returns the brand's stored keys; none is an empty slice.
func (k *KeyStore) LoadBrand(ctx context.Context, brandID string) ([]keys.Record, error) {
	return k.load(ctx, k.s.db, brandID)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (k *KeyStore) load(ctx context.Context, q querier, brandID string) ([]keys.Record, error) {
	rows, err := q.QueryContext(ctx, k.s.d.Q(`SELECT kid, doc FROM authz_keys WHERE brand = ? ORDER BY kid`), brandID)
	if err != nil {
		return nil, fmt.Errorf("store: read the keys of brand %s: %w", brandID, err)
	}
	defer rows.Close()
	var out []keys.Record
	for rows.Next() {
		var kid, doc string
		if err := rows.Scan(&kid, &doc); err != nil {
			return nil, fmt.Errorf("store: read the keys of brand %s: %w", brandID, err)
		}
		plain, err := k.s.seal.open(keyBound(brandID, kid), "key "+kid+" of brand "+brandID, doc)
		if err != nil {
			return nil, err
		}
		r, err := keys.DecodeRecord([]byte(plain))
		if err != nil {
			return nil, fmt.Errorf("store: key %s of brand %s: %w", kid, brandID, err)
		}
		if r.KID != kid {
			return nil, fmt.Errorf("store: key %s of brand %s holds kid %s: restore the table from a backup", kid, brandID, r.KID)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read the keys of brand %s: %w", brandID, err)
	}
	return out, nil
}

// SaveBrand replaces the brand's stored keys.
func (k *KeyStore) SaveBrand(ctx context.Context, brandID string, records []keys.Record) error {
	_, err := k.UpdateBrand(ctx, brandID, func([]keys.Record) ([]keys.Record, bool, error) { return records, true, nil })
	return err
}

// UpdateBrand reads the brand's keys, lets update decide what to store and
// stores it, all under the brand's row lock: replicas changing one brand's
// keys at once take turns, each seeing what the one before stored. It
// returns the brand's keys afterwards.
func (k *KeyStore) UpdateBrand(ctx context.Context, brandID string, update func(stored []keys.Record) ([]keys.Record, bool, error)) ([]keys.Record, error) {
	var out []keys.Record
	err := k.s.inTx(ctx, func(tx *sql.Tx) error {
		now := k.s.unixNow()
		if _, err := tx.ExecContext(ctx, k.s.d.Q(`INSERT INTO authz_key_brands (brand, updated_at) VALUES (?, ?) ON CONFLICT (brand) DO NOTHING`), brandID, now); err != nil {
			return fmt.Errorf("store: lock the keys of brand %s: %w", brandID, err)
		}
		var locked string
		if err := tx.QueryRowContext(ctx, k.s.d.Q(`SELECT brand FROM authz_key_brands WHERE brand = ?`+k.s.d.ForUpdate), brandID).Scan(&locked); err != nil {
			return fmt.Errorf("store: lock the keys of brand %s: %w", brandID, err)
		}
		stored, err := k.load(ctx, tx, brandID)
		if err != nil {
			return err
		}
		next, changed, err := update(stored)
		if err != nil {
			return err
		}
		if !changed {
			out = stored
			return nil
		}
		if _, err := tx.ExecContext(ctx, k.s.d.Q(`DELETE FROM authz_keys WHERE brand = ?`), brandID); err != nil {
			return fmt.Errorf("store: write the keys of brand %s: %w", brandID, err)
		}
		for _, r := range next {
			doc, err := keys.EncodeRecord(r)
			if err != nil {
				return err
			}
			sealed, err := k.s.seal.seal(keyBound(brandID, r.KID), string(doc))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, k.s.d.Q(`INSERT INTO authz_keys (brand, kid, doc) VALUES (?, ?, ?)`), brandID, r.KID, sealed); err != nil {
				return fmt.Errorf("store: write key %s of brand %s: %w", r.KID, brandID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, k.s.d.Q(`UPDATE authz_key_brands SET updated_at = ? WHERE brand = ?`), now, brandID); err != nil {
			return fmt.Errorf("store: write the keys of brand %s: %w", brandID, err)
		}
		out = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Reseal rewrites every stored key under the current seal key (each
// brand under its row lock, as a change of keys is), so that a previous
// seal key can be dropped; it returns how many keys it rewrote. Servers
// may keep running: they read the same keys back.
func (k *KeyStore) Reseal(ctx context.Context) (int, error) {
	brands, err := k.Brands(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range brands {
		stored, err := k.UpdateBrand(ctx, b, func(stored []keys.Record) ([]keys.Record, bool, error) { return stored, true, nil })
		if err != nil {
			return n, fmt.Errorf("store: reseal the keys of brand %s: %w", b, err)
		}
		n += len(stored)
	}
	return n, nil
}

// keyBound is what a sealed key is bound to: a doc copied to another row
// does not open.
func keyBound(brandID, kid string) string { return "authz_keys\x00" + brandID + "\x00" + kid }

// Brands lists the brands that have keys stored, in id order.
func (k *KeyStore) Brands(ctx context.Context) ([]string, error) {
	rows, err := k.s.db.QueryContext(ctx, `SELECT DISTINCT brand FROM authz_keys ORDER BY brand`)
	if err != nil {
		return nil, fmt.Errorf("store: list the brands with keys: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("store: list the brands with keys: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
