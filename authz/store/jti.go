package store

import (
	"context"
	"fmt"
)

// maxJTI bounds a stored JWT id; longer ones are refused.
const maxJTI = 512

// ConsumeJTI is a goidc.ConsumeJTIFunc: it records jti (client assertion,
// request object) and fails with ErrJTIReplayed when the id was already
// recorded, on any replica, less than Options.JTIWindow ago. The insert
// and the check are one statement, so two replicas racing on one jti
// cannot both succeed.
func (s *Store) ConsumeJTI(ctx context.Context, jti string) error {
	if jti == "" || len(jti) > maxJTI {
		return fmt.Errorf("store: jti must have 1 to %d characters", maxJTI)
	}
	now := s.unixNow()
	res, err := s.db.ExecContext(ctx, s.d.Q(`INSERT INTO authz_jti (brand, jti, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (brand, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE authz_jti.expires_at < ?`),
		s.brand, jti, now+s.jtiTTL, now)
	if err != nil {
		return fmt.Errorf("store: record jti: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: record jti: %w", err)
	}
	if n == 0 {
		return ErrJTIReplayed
	}
	return nil
}
