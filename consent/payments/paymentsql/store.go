package paymentsql

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now is the clock; default time.Now. Every stored time comes from it.
	Now func() time.Time
	// NoticeLease is how long ClaimNotices hides a claimed notice from other
	// deliverers; default 1 min.
	NoticeLease time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxOpenConns bounds the pool; default 10 (PostgreSQL) or 4 (SQLite).
	MaxOpenConns int
}

// Store keeps payment consents, Pix payments, their history, idempotency
// keys, jti records and webhook notices in PostgreSQL or SQLite, with the
// same behaviour on both (one contract suite runs against both).
type Store struct {
	db    *sql.DB
	d     sqlstore.Dialect
	now   func() time.Time
	lease time.Duration
	log   *slog.Logger
}

// OpenPostgres connects to PostgreSQL (pgx DSN; add search_path=<schema> to
// use another schema) and runs the migrations. ctx bounds connecting and
// migrating only.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.Postgres, dsn, opts)
}

// OpenSQLite opens (creating if needed) the SQLite file at path in WAL mode
// and runs the migrations. Every transaction is BEGIN IMMEDIATE, so writers
// serialise on SQLite's single write lock.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.SQLite, path, opts)
}

func open(ctx context.Context, d sqlstore.Dialect, location string, opts Options) (*Store, error) {
	db, err := sqlstore.Open(ctx, d, location, sqlstore.Options{Owner: "paymentsql", MaxOpenConns: opts.MaxOpenConns})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d, now: opts.Now, lease: opts.NoticeLease, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lease <= 0 {
		s.lease = time.Minute
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	err = sqlstore.Migrate(ctx, db, sqlstore.Migrations{
		Owner: "paymentsql", FS: migrationFiles, Dir: "migrations/" + d.Name, Table: "paymentsql_migrations",
		Lock: d.AdvisoryLock(7382931), Dollar: d.Dollar, Log: s.log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.d.Name }

// Now is the store's clock (what every stored time comes from).
func (s *Store) Now() time.Time { return s.clock() }

func (s *Store) clock() time.Time { return sqlstore.NormTime(s.now()) }

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlstore.InTx(ctx, s.db, "paymentsql", fn)
}

// commitRule is returned by a transaction function whose outcome is a
// business-rule refusal that must be committed (the idempotency record of a
// 422, an expiry found on the way). inTxRule commits and returns the rule.
type commitRule struct{ err error }

func (c commitRule) Error() string { return c.err.Error() }

func (s *Store) inTxRule(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("paymentsql: begin: %w", err)
	}
	err = fn(tx)
	var cr commitRule
	if err != nil && !errors.As(err, &cr) {
		tx.Rollback() //nolint:errcheck // fn's error is the one to report
		return err
	}
	if cerr := tx.Commit(); cerr != nil {
		return fmt.Errorf("paymentsql: commit: %w", cerr)
	}
	if err != nil {
		return cr.err
	}
	return nil
}

// ---- consents ----

const consentColumns = `id, client_id, org_id, status, version, creation_date_time, status_update_date_time,
	expiration_date_time, logged_user, business_entity, debtor_account, rejection_code, rejection_detail, body`

type rowScanner interface{ Scan(dest ...any) error }

func scanConsent(r rowScanner) (payments.Consent, error) {
	var (
		c                        payments.Consent
		status, logged, body     string
		business, debtor         sql.NullString
		rejCode, rejDetail       sql.NullString
		created, updated, expiry sqlstore.Time
	)
	if err := r.Scan(&c.ID, &c.ClientID, &c.OrgID, &status, &c.Version, &created, &updated, &expiry,
		&logged, &business, &debtor, &rejCode, &rejDetail, &body); err != nil {
		return payments.Consent{}, err
	}
	c.Status = payments.ConsentStatus(status)
	c.CreationDateTime, c.StatusUpdateDateTime, c.ExpirationDateTime = created.T, updated.T, expiry.T
	var err error
	if c.LoggedUser, err = decodeDoc(logged); err != nil {
		return payments.Consent{}, err
	}
	if business.Valid {
		d, err := decodeDoc(business.String)
		if err != nil {
			return payments.Consent{}, err
		}
		c.BusinessEntity = &d
	}
	if debtor.Valid {
		var a accountJSON
		if err := jsonUnmarshal(debtor.String, &a); err != nil {
			return payments.Consent{}, fmt.Errorf("paymentsql: consent %s debtor account: %w", c.ID, err)
		}
		acc := a.account()
		c.DebtorAccount = &acc
	}
	if rejCode.Valid {
		c.Rejection = &payments.ConsentRejection{Code: payments.ConsentRejectionCode(rejCode.String), Detail: rejDetail.String}
	}
	if err := decodeConsentBody(body, &c); err != nil {
		return payments.Consent{}, err
	}
	return c, nil
}

func debtorArg(a *payments.Account) (sql.NullString, error) {
	if a == nil {
		return sql.NullString{}, nil
	}
	s, err := encodeJSON(toAccountJSON(*a))
	return sql.NullString{String: s, Valid: true}, err
}

func rejArgs(r *payments.ConsentRejection) (sql.NullString, sql.NullString) {
	if r == nil {
		return sql.NullString{}, sql.NullString{}
	}
	return sql.NullString{String: string(r.Code), Valid: true}, sql.NullString{String: r.Detail, Valid: true}
}

// CreateConsent validates req with payments.NewConsent at the store's clock
// and stores it with its CREATE history row. With idem, the key is recorded
// in the same transaction: as 201 with the consent's ID, or as 422 with the
// *payments.RuleError NewConsent returned (which is then returned too). A
// concurrent request that recorded the same key first makes it return
// payments.ErrIdempotencyRace with nothing stored.
func (s *Store) CreateConsent(ctx context.Context, req payments.Consent, idem *payments.IdempotencyRecord, actor payments.Actor) (payments.Consent, error) {
	now := s.clock()
	var out payments.Consent
	err := s.inTxRule(ctx, func(tx *sql.Tx) error {
		if err := s.claimIdem(ctx, tx, idem, now); err != nil {
			return err
		}
		c, err := payments.NewConsent(req, now)
		if re, ok := payments.AsRuleError(err); ok {
			return s.finishIdemRule(ctx, tx, idem, re)
		}
		if err != nil {
			return err
		}
		var business sql.NullString
		if c.BusinessEntity != nil {
			business = sql.NullString{String: encodeDoc(*c.BusinessEntity), Valid: true}
		}
		debtor, err := debtorArg(c.DebtorAccount)
		if err != nil {
			return err
		}
		body, err := encodeConsentBody(c)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.Q(`INSERT INTO payment_consents (`+consentColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`),
			c.ID, c.ClientID, c.OrgID, string(c.Status), c.Version, s.d.Time(c.CreationDateTime),
			s.d.Time(c.StatusUpdateDateTime), s.d.Time(c.ExpirationDateTime), encodeDoc(c.LoggedUser),
			business, debtor, body)
		if err != nil {
			if sqlstore.IsUniqueViolation(err) {
				return fmt.Errorf("paymentsql: create consent %s: %w", c.ID, payments.ErrAlreadyExists)
			}
			return fmt.Errorf("paymentsql: insert consent %s: %w", c.ID, err)
		}
		if err := s.consentHistory(ctx, tx, c, payments.ConsentNone, payments.ConsentEventCreate, now, actor, ""); err != nil {
			return err
		}
		out = c
		return s.finishIdem(ctx, tx, idem, 201, []string{c.ID})
	})
	if err != nil {
		return payments.Consent{}, err
	}
	return out, nil
}

// GetConsent reads a consent (payments.ErrNotFound when absent).
func (s *Store) GetConsent(ctx context.Context, id string) (payments.Consent, error) {
	c, err := scanConsent(s.db.QueryRowContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM payment_consents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return payments.Consent{}, fmt.Errorf("paymentsql: consent %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return payments.Consent{}, fmt.Errorf("paymentsql: read consent %s: %w", id, err)
	}
	return c, nil
}

func (s *Store) lockConsent(ctx context.Context, tx *sql.Tx, id string) (payments.Consent, error) {
	c, err := scanConsent(tx.QueryRowContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM payment_consents WHERE id = ?`+s.d.ForUpdate), id))
	if errors.Is(err, sql.ErrNoRows) {
		return payments.Consent{}, fmt.Errorf("paymentsql: consent %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return payments.Consent{}, fmt.Errorf("paymentsql: lock consent %s: %w", id, err)
	}
	return c, nil
}

// saveConsent writes the changed state of c (moved from before by ev), its
// history row and the webhook notice, guarded by the version read.
func (s *Store) saveConsent(ctx context.Context, tx *sql.Tx, before, c payments.Consent, ev payments.ConsentEvent, now time.Time, actor payments.Actor, detail string) (payments.Consent, error) {
	c.Version = before.Version + 1
	debtor, err := debtorArg(c.DebtorAccount)
	if err != nil {
		return payments.Consent{}, err
	}
	code, rdetail := rejArgs(c.Rejection)
	res, err := tx.ExecContext(ctx, s.d.Q(`UPDATE payment_consents SET status = ?, version = ?, status_update_date_time = ?,
		expiration_date_time = ?, debtor_account = ?, rejection_code = ?, rejection_detail = ? WHERE id = ? AND version = ?`),
		string(c.Status), c.Version, s.d.Time(c.StatusUpdateDateTime), s.d.Time(c.ExpirationDateTime),
		debtor, code, rdetail, c.ID, before.Version)
	if err != nil {
		return payments.Consent{}, fmt.Errorf("paymentsql: update consent %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return payments.Consent{}, fmt.Errorf("paymentsql: update consent %s: version %d changed under a lock (rows %d, %v)", c.ID, before.Version, n, err)
	}
	if err := s.consentHistory(ctx, tx, c, before.Status, ev, now, actor, detail); err != nil {
		return payments.Consent{}, err
	}
	if c.Status != before.Status {
		if err := s.addNotice(ctx, tx, payments.NoticeConsent, c.ID, c.ClientID, now); err != nil {
			return payments.Consent{}, err
		}
	}
	return c, nil
}

func (s *Store) consentHistory(ctx context.Context, tx *sql.Tx, c payments.Consent, from payments.ConsentStatus, ev payments.ConsentEvent, at time.Time, actor payments.Actor, detail string) error {
	if detail == "" && c.Rejection != nil && c.Status == payments.ConsentRejected && from != c.Status {
		detail = string(c.Rejection.Code)
	}
	_, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO payment_consent_history
		(consent_id, version, at, from_status, to_status, event, who, client_id, interaction_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Version, s.d.Time(at), string(from), string(c.Status), string(ev), actor.Who, actor.ClientID, actor.InteractionID, detail)
	if err != nil {
		return fmt.Errorf("paymentsql: history of consent %s: %w", c.ID, err)
	}
	return nil
}

// ApplyConsentEvent moves consent id by ev at the store's clock
// (payments.ApplyConsent decides: *IllegalTransitionError,
// *PreconditionError). rej is the reason of a REJECT (nil:
// REJEITADO_USUARIO). The change, its history row and its webhook notice are
// one transaction under the consent's row lock.
func (s *Store) ApplyConsentEvent(ctx context.Context, id string, ev payments.ConsentEvent, rej *payments.ConsentRejection, actor payments.Actor) (payments.Consent, error) {
	now := s.clock()
	var out payments.Consent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		before, err := s.lockConsent(ctx, tx, id)
		if err != nil {
			return err
		}
		c := before
		if err := payments.ApplyConsent(&c, ev, now, rej); err != nil {
			return err
		}
		out, err = s.saveConsent(ctx, tx, before, c, ev, now, actor, "")
		return err
	})
	return out, err
}

// expireIfDue applies the consent's due expiry inside tx (so the caller sees
// REJECTED, never a stale status) and returns the consent as it now is.
func (s *Store) expireIfDue(ctx context.Context, tx *sql.Tx, c payments.Consent, now time.Time, actor payments.Actor) (payments.Consent, error) {
	ev, due := payments.ConsentDue(c, now)
	if !due {
		return c, nil
	}
	next := c
	if err := payments.ApplyConsent(&next, ev, now, nil); err != nil {
		return payments.Consent{}, err
	}
	return s.saveConsent(ctx, tx, c, next, ev, now, payments.Actor{Who: "system:expiry", ClientID: actor.ClientID, InteractionID: actor.InteractionID}, "")
}

// ReadConsent returns consent id as its owner clientID sees it: a due
// expiry is applied first (AWAITING_AUTHORISATION past 5 minutes,
// AUTHORISED past 60 minutes → REJECTED). Errors: payments.ErrNotFound,
// payments.ErrOtherClient.
func (s *Store) ReadConsent(ctx context.Context, id, clientID string, actor payments.Actor) (payments.Consent, error) {
	c, err := s.GetConsent(ctx, id)
	if err != nil {
		return payments.Consent{}, err
	}
	if c.ClientID != clientID {
		return payments.Consent{}, fmt.Errorf("paymentsql: consent %s: %w", id, payments.ErrOtherClient)
	}
	if _, due := payments.ConsentDue(c, s.clock()); !due {
		return c, nil
	}
	var out payments.Consent
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		locked, err := s.lockConsent(ctx, tx, id)
		if err != nil {
			return err
		}
		out, err = s.expireIfDue(ctx, tx, locked, s.clock(), actor)
		return err
	})
	return out, err
}

// DueConsents lists consents whose expiry is due at now (oldest deadline
// first), for the expiry job.
func (s *Store) DueConsents(ctx context.Context, now time.Time, limit int) ([]payments.Consent, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM payment_consents
		WHERE status IN ('AWAITING_AUTHORISATION', 'PARTIALLY_ACCEPTED', 'AUTHORISED') AND expiration_date_time <= ?
		ORDER BY expiration_date_time LIMIT ?`), s.d.Time(sqlstore.NormTime(now)), limit)
	if err != nil {
		return nil, fmt.Errorf("paymentsql: list due consents: %w", err)
	}
	defer rows.Close()
	var out []payments.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("paymentsql: list due consents: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ---- the authorisation hooks authz reaches through cmd/ofp ----

// CheckPending reports that consent id exists, was created by clientID and
// awaits authorisation, and returns it (for the consent page). Errors:
// payments.ErrNotFound, payments.ErrOtherClient, payments.ErrNotPending (a
// consent past its 5 minutes is expired on the way).
func (s *Store) CheckPending(ctx context.Context, clientID, id string) (payments.Consent, error) {
	c, err := s.ReadConsent(ctx, id, clientID, payments.Actor{Who: "authz:check", ClientID: clientID})
	if err != nil {
		return payments.Consent{}, err
	}
	if c.Status != payments.ConsentAwaitingAuthorisation && c.Status != payments.ConsentPartiallyAccepted {
		return c, fmt.Errorf("paymentsql: consent %s is %s: %w", id, c.Status, payments.ErrNotPending)
	}
	return c, nil
}

// Authorise is the customer's approval of consent id paying from debtor
// (see payments.Authorise). It returns payments.ErrNotFound,
// ErrNotPending (also when the 5 minutes passed: the consent is then
// expired), ErrCustomerMismatch, ErrDebtorMismatch, or
// ErrRefusedAtAuthorisation (the consent was rejected, e.g.
// CONTAS_ORIGEM_DESTINO_IGUAIS; that change is stored).
func (s *Store) Authorise(ctx context.Context, id string, cust payments.Customer, debtor payments.Account) (payments.Consent, error) {
	now := s.clock()
	actor := payments.Actor{Who: "user:" + cust.CPF}
	var out payments.Consent
	err := s.inTxRule(ctx, func(tx *sql.Tx) error {
		before, err := s.lockConsent(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, due := payments.ConsentDue(before, now); due {
			if _, err := s.expireIfDue(ctx, tx, before, now, actor); err != nil {
				return err
			}
			return commitRule{fmt.Errorf("paymentsql: consent %s expired before it was authorised: %w", id, payments.ErrNotPending)}
		}
		c := before
		aerr := payments.Authorise(&c, cust, debtor, now)
		if aerr != nil && !errors.Is(aerr, payments.ErrRefusedAtAuthorisation) {
			return aerr
		}
		ev := payments.ConsentEventAuthorise
		if c.Status == payments.ConsentRejected {
			ev = payments.ConsentEventReject
		}
		if out, err = s.saveConsent(ctx, tx, before, c, ev, now, actor, ""); err != nil {
			return err
		}
		if aerr != nil {
			return commitRule{aerr}
		}
		return nil
	})
	return out, err
}

// Reject records the customer's refusal of consent id (REJEITADO_USUARIO).
// Errors: payments.ErrNotFound, ErrNotPending, ErrCustomerMismatch.
func (s *Store) Reject(ctx context.Context, id string, cust payments.Customer) (payments.Consent, error) {
	now := s.clock()
	actor := payments.Actor{Who: "user:" + cust.CPF}
	var out payments.Consent
	err := s.inTxRule(ctx, func(tx *sql.Tx) error {
		before, err := s.lockConsent(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, due := payments.ConsentDue(before, now); due {
			if _, err := s.expireIfDue(ctx, tx, before, now, actor); err != nil {
				return err
			}
			return commitRule{fmt.Errorf("paymentsql: consent %s expired: %w", id, payments.ErrNotPending)}
		}
		if before.Status != payments.ConsentAwaitingAuthorisation && before.Status != payments.ConsentPartiallyAccepted {
			return fmt.Errorf("paymentsql: consent %s is %s: %w", id, before.Status, payments.ErrNotPending)
		}
		if !before.Matches(cust) {
			return payments.ErrCustomerMismatch
		}
		c := before
		if err := payments.ApplyConsent(&c, payments.ConsentEventReject, now, nil); err != nil {
			return err
		}
		out, err = s.saveConsent(ctx, tx, before, c, payments.ConsentEventReject, now, actor, "")
		return err
	})
	return out, err
}

// Authorised reports whether tokens bound to consent id may still be used
// on the payments API: the consent is AUTHORISED (within its 60 minutes) or
// CONSUMED (so an idempotent retry of POST /pix/payments, or a second one
// that must be answered 422 CONSENTIMENTO_INVALIDO, still reaches the API).
// REJECTED and unknown consents are not.
func (s *Store) Authorised(ctx context.Context, id string) (bool, error) {
	c, err := s.GetConsent(ctx, id)
	if errors.Is(err, payments.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch c.Status {
	case payments.ConsentAuthorised:
		_, due := payments.ConsentDue(c, s.clock())
		return !due, nil
	case payments.ConsentConsumed:
		return true, nil
	}
	return false, nil
}

// HistoryEntry is one row of a consent's or payment's audit history.
type HistoryEntry struct {
	Version       int64
	At            time.Time
	From, To      string
	Event         string
	Who           string
	ClientID      string
	InteractionID string
	Detail        string
}

// ConsentHistory lists consent id's history, oldest first.
func (s *Store) ConsentHistory(ctx context.Context, id string) ([]HistoryEntry, error) {
	return s.history(ctx, "payment_consent_history", "consent_id", id)
}

// PaymentHistory lists payment id's history, oldest first.
func (s *Store) PaymentHistory(ctx context.Context, id string) ([]HistoryEntry, error) {
	return s.history(ctx, "pix_payment_history", "payment_id", id)
}

func (s *Store) history(ctx context.Context, table, col, id string) ([]HistoryEntry, error) {
	rows, err := s.db.QueryContext(ctx, s.d.Q(`SELECT version, at, from_status, to_status, event, who, client_id, interaction_id, detail
		FROM `+table+` WHERE `+col+` = ? ORDER BY version`), id)
	if err != nil {
		return nil, fmt.Errorf("paymentsql: read history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var h HistoryEntry
		var at sqlstore.Time
		if err := rows.Scan(&h.Version, &at, &h.From, &h.To, &h.Event, &h.Who, &h.ClientID, &h.InteractionID, &h.Detail); err != nil {
			return nil, fmt.Errorf("paymentsql: read history of %s: %w", id, err)
		}
		h.At = at.T
		out = append(out, h)
	}
	return out, rows.Err()
}

// addNotice queues the webhook for a status change, in the change's transaction.
func (s *Store) addNotice(ctx context.Context, tx *sql.Tx, kind payments.NoticeKind, resourceID, clientID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO payment_notices
		(id, kind, resource_id, client_id, api_version, event_at, created_at, next_attempt_at, attempts, result)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, '')`),
		uuid.NewString(), string(kind), resourceID, clientID, payments.APIVersion, s.d.Time(at), s.d.Time(at), s.d.Time(at))
	if err != nil {
		return fmt.Errorf("paymentsql: queue %s notice for %s: %w", kind, resourceID, err)
	}
	return nil
}
