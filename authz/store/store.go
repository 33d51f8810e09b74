package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/luikyv/go-oidc/pkg/goidc"

	"github.com/ofp-dev/ofp/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now is the clock for the times the store writes (claims, revocations,
	// expiry of rows); default time.Now. go-oidc keeps its own clock for
	// the times inside grants and sessions.
	Now func() time.Time
	// GrantTail is how long a grant is kept after its last save, its
	// revocation or the end of its refresh token, so that access tokens
	// issued from it still introspect as active (or, once revoked, as
	// inactive for a reason). It must cover the longest access-token
	// lifetime; default 15 minutes (FAPI-BR allows up to 900 s).
	GrantTail time.Duration
	// JTIWindow is how long a JWT id stays refused after first use. It must
	// cover the longest JWT go-oidc accepts (provider.WithJWTLifetime,
	// default 600 s) plus leeway; default 15 minutes.
	JTIWindow time.Duration
	// SealKey, if set (32 bytes), seals with AES-256-GCM the refresh token
	// kept between the authorization and the code redemption. Without it
	// that token is stored as is for that window (the code's lifetime).
	SealKey []byte
	// PreviousSealKeys open what earlier seal keys sealed, so that the seal
	// key can be rotated: run with the new SealKey and the old one here,
	// reseal (KeyStore.Reseal, ResealGrants), then drop it. Nothing is
	// sealed with them.
	PreviousSealKeys [][]byte
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxOpenConns bounds the pool; default 10 (PostgreSQL) or 4 (SQLite).
	MaxOpenConns int
}

// Store keeps go-oidc's grants, authorization sessions, pushed requests and
// JWT ids in PostgreSQL or SQLite. It satisfies goidc.GrantManager,
// goidc.AuthManager, goidc.PARManager and goidc.RefreshTokenManager, and
// ConsumeJTI is a goidc.ConsumeJTIFunc. Every call reads or writes the
// database, nothing is cached: any replica continues any flow.
type Store struct {
	db     *sql.DB
	d      sqlstore.Dialect
	brand  string
	now    func() time.Time
	tail   int64
	jtiTTL int64
	seal   sealer
	// hmacKey keys the HMAC of the login limiter's keys (Options.SealKey).
	hmacKey []byte
	log     *slog.Logger
}

var (
	_ goidc.GrantManager        = (*Store)(nil)
	_ goidc.AuthManager         = (*Store)(nil)
	_ goidc.PARManager          = (*Store)(nil)
	_ goidc.RefreshTokenManager = (*Store)(nil)
	_ goidc.ConsumeJTIFunc      = (*Store)(nil).ConsumeJTI
)

// Sentinel errors.
var (
	// ErrCodeRedeemed: SaveGrant was asked to record the redemption of an
	// authorization code that another request (on any replica) redeemed
	// first. It reaches go-oidc wrapped in an invalid_grant error, so the
	// client gets 400 invalid_grant and go-oidc revokes the grant (and with
	// it the tokens the first redemption issued).
	ErrCodeRedeemed = errors.New("store: the authorization code was already redeemed")
	// ErrSessionFinished: SaveSession was asked to change a session that
	// already succeeded or failed (a second, concurrent callback lost the
	// race). Start a new authorization.
	ErrSessionFinished = errors.New("store: the authorization session has already finished: start a new authorization")
	// ErrJTIReplayed: ConsumeJTI saw the JWT id before, within JTIWindow.
	ErrJTIReplayed = errors.New("store: jti was already used: sign a new JWT with a fresh jti")
)

// OpenPostgres connects to PostgreSQL (a pgx connection string or URL; add
// search_path=<schema> for a schema other than public) and applies the
// migrations it has not seen (recorded in authz_store_migrations). ctx
// bounds connecting and migrating only.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.Postgres, dsn, opts)
}

// OpenSQLite opens (creating if needed) the SQLite file at path in WAL mode
// with a busy timeout, and applies the migrations. Several Stores (or
// processes) may open one file: writes take the database's write lock at
// the start of each transaction.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.SQLite, path, opts)
}

func open(ctx context.Context, d sqlstore.Dialect, location string, opts Options) (*Store, error) {
	seal, err := newSealer(opts.SealKey, opts.PreviousSealKeys)
	if err != nil {
		return nil, err
	}
	db, err := sqlstore.Open(ctx, d, location, sqlstore.Options{Owner: "store", MaxOpenConns: opts.MaxOpenConns})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d, now: opts.Now, seal: seal, hmacKey: opts.SealKey, log: opts.Logger,
		tail: int64(opts.GrantTail / time.Second), jtiTTL: int64(opts.JTIWindow / time.Second)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tail <= 0 {
		s.tail = int64(15 * time.Minute / time.Second)
	}
	if s.jtiTTL <= 0 {
		s.jtiTTL = int64(15 * time.Minute / time.Second)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := sqlstore.Migrate(ctx, db, sqlstore.Migrations{
		Owner: "authz/store", FS: migrationFiles, Dir: "migrations", Table: "authz_store_migrations",
		Lock: d.AdvisoryLock(7382912), Dollar: d.Dollar, Log: s.log,
	}); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// ForBrand returns a view of s whose sessions, grants and JWT ids belong to
// brand: it neither sees nor changes another brand's rows. The view shares
// s's connection pool; close s, not the view. RevokeGrantsByConsent and
// DeleteExpired act on every brand whichever view is used.
func (s *Store) ForBrand(brand string) *Store {
	v := *s
	v.brand = brand
	return &v
}

// Close closes the connection pool (shared with every ForBrand view).
func (s *Store) Close() error { return s.db.Close() }

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.d.Name }

func (s *Store) unixNow() int64 { return s.now().Unix() }

// inTx runs fn in a transaction (BEGIN IMMEDIATE on SQLite) and commits if
// fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlstore.InTx(ctx, s.db, "store", fn)
}

// DeleteExpired removes, for every brand, the sessions, grants and JWT ids
// whose expiry is before now, and returns how many rows went. Run it
// periodically (one replica at a time is enough, any is correct).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	cut := now.Unix()
	total := 0
	for _, q := range []string{
		`DELETE FROM authz_sessions WHERE expires_at < ?`,
		`DELETE FROM authz_grants WHERE expires_at IS NOT NULL AND expires_at < ?`,
		`DELETE FROM authz_jti WHERE expires_at < ?`,
		`DELETE FROM authz_login_failures WHERE expires_at < ?`,
	} {
		res, err := s.db.ExecContext(ctx, s.d.Q(q), cut)
		if err != nil {
			return total, fmt.Errorf("store: delete expired rows: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: delete expired rows: %w", err)
		}
		total += int(n)
	}
	return total, nil
}

// digest is how secrets (codes, refresh tokens) are stored and looked up.
func digest(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// nullInt is a nullable unix time argument.
func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}
