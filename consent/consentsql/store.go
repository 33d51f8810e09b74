package consentsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now is the clock; default time.Now. Every stored time comes from it.
	Now func() time.Time
	// ClaimLease is how long ClaimOutbox hides a claimed event from other
	// claimers; after it the event is handed out again unless it was marked
	// published. Default 30 s.
	ClaimLease time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxOpenConns bounds the connection pool; default 10 (PostgreSQL) or 4 (SQLite).
	MaxOpenConns int
}

// Store keeps consents, their audit history, renewals and the outbox in
// PostgreSQL or SQLite; both engines behave the same (one contract test
// suite runs against both).
type Store struct {
	db    *sql.DB
	d     sqlstore.Dialect
	now   func() time.Time
	lease time.Duration
	log   *slog.Logger
}

// OpenPostgres connects to PostgreSQL (a pgx connection string or URL; add
// search_path=<schema> to use a schema other than public) and runs the
// migrations. ctx bounds connecting and migrating only.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.Postgres, dsn, opts)
}

// OpenSQLite opens (creating if needed) the SQLite database file at path, in
// WAL mode with a busy timeout (sqlstore.OpenSQLite), and runs the migrations.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, sqlstore.SQLite, path, opts)
}

func open(ctx context.Context, d sqlstore.Dialect, location string, opts Options) (*Store, error) {
	db, err := sqlstore.Open(ctx, d, location, sqlstore.Options{Owner: "consentsql", MaxOpenConns: opts.MaxOpenConns})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d, now: opts.Now, lease: opts.ClaimLease, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lease <= 0 {
		s.lease = 30 * time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.d.Name }

func (s *Store) clock() time.Time { return sqlstore.NormTime(s.now()) }

// inTx runs fn in a transaction and commits if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlstore.InTx(ctx, s.db, "consentsql", fn)
}

const consentColumns = `id, status, permissions, logged_user_identification, logged_user_rel,
	business_entity_identification, business_entity_rel, client_id, expiration_date_time,
	creation_date_time, status_update_date_time, rejected_by, rejection_reason, rejection_info, version, role, counterparty`

type rowScanner interface{ Scan(dest ...any) error }

func scanConsent(r rowScanner) (consent.Consent, error) {
	var (
		c                         consent.Consent
		status, perms, role       string
		beID, beRel               sql.NullString
		rejBy, rejReason, rejInfo sql.NullString
		exp, created, updated     sqlstore.Time
	)
	err := r.Scan(&c.ID, &status, &perms, &c.LoggedUser.Document.Identification, &c.LoggedUser.Document.Rel,
		&beID, &beRel, &c.ClientID, &exp, &created, &updated, &rejBy, &rejReason, &rejInfo, &c.Version, &role, &c.Counterparty)
	if err != nil {
		return consent.Consent{}, err
	}
	c.Status = consent.Status(status)
	c.Role = consent.Role(role)
	if err := json.Unmarshal([]byte(perms), &c.Permissions); err != nil {
		return consent.Consent{}, fmt.Errorf("consentsql: consent %s has unreadable permissions: %w", c.ID, err)
	}
	if beID.Valid {
		c.BusinessEntity = &consent.BusinessEntity{Document: consent.Document{Identification: beID.String, Rel: beRel.String}}
	}
	c.ExpirationDateTime = exp.Ptr()
	c.CreationDateTime = created.T
	c.StatusUpdateDateTime = updated.T
	if rejBy.Valid {
		c.Rejection = &consent.Rejection{
			RejectedBy: consent.RejectedBy(rejBy.String), Reason: consent.ReasonCode(rejReason.String),
			AdditionalInformation: rejInfo.String,
		}
	}
	return c, nil
}

func nullStr(s string, valid bool) sql.NullString { return sql.NullString{String: s, Valid: valid} }

// Create stores a new consent (see consent.New for what it validates and
// fills: status AWAITING_AUTHORISATION, version 1, creation time = the store
// clock when zero) with its CREATE history row and outbox event, in one
// transaction. A duplicate ID returns consent.ErrAlreadyExists.
func (s *Store) Create(ctx context.Context, c consent.Consent, actor consent.AuditActor) (consent.Consent, error) {
	now := s.clock()
	c.CreationDateTime = sqlstore.NormTime(c.CreationDateTime)
	c.ExpirationDateTime = sqlstore.NormTimePtr(c.ExpirationDateTime)
	c, err := consent.New(c, now)
	if err != nil {
		return consent.Consent{}, err
	}
	c.CreationDateTime = sqlstore.NormTime(c.CreationDateTime)
	c.StatusUpdateDateTime = c.CreationDateTime
	perms, err := json.Marshal(c.Permissions)
	if err != nil {
		return consent.Consent{}, fmt.Errorf("consentsql: encode permissions: %w", err)
	}
	var beID, beRel sql.NullString
	if c.BusinessEntity != nil {
		beID = nullStr(c.BusinessEntity.Document.Identification, true)
		beRel = nullStr(c.BusinessEntity.Document.Rel, true)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consents (`+consentColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?)`),
			c.ID, string(c.Status), string(perms), c.LoggedUser.Document.Identification, c.LoggedUser.Document.Rel,
			beID, beRel, c.ClientID, s.d.NullTime(c.ExpirationDateTime),
			s.d.Time(c.CreationDateTime), s.d.Time(c.StatusUpdateDateTime), c.Version, string(c.Role), c.Counterparty)
		if err != nil {
			if sqlstore.IsUniqueViolation(err) {
				return fmt.Errorf("consentsql: create %s: %w", c.ID, consent.ErrAlreadyExists)
			}
			return fmt.Errorf("consentsql: insert consent %s: %w", c.ID, err)
		}
		return s.recordChange(ctx, tx, c, consent.StatusNone, consent.EventCreate, now, actor)
	})
	if err != nil {
		return consent.Consent{}, err
	}
	return c, nil
}

// Get returns the consent or consent.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (consent.Consent, error) {
	c, err := scanConsent(s.db.QueryRowContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM consents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Consent{}, fmt.Errorf("consentsql: get %s: %w", id, consent.ErrNotFound)
	}
	if err != nil {
		return consent.Consent{}, fmt.Errorf("consentsql: get %s: %w", id, err)
	}
	return c, nil
}

// getForUpdate reads a consent inside tx and keeps it locked until the end
// of tx (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the transaction
// already holds the write lock).
func (s *Store) getForUpdate(ctx context.Context, tx *sql.Tx, id string) (consent.Consent, error) {
	c, err := scanConsent(tx.QueryRowContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM consents WHERE id = ?`+s.d.ForUpdate), id))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Consent{}, fmt.Errorf("consentsql: %s: %w", id, consent.ErrNotFound)
	}
	if err != nil {
		return consent.Consent{}, fmt.Errorf("consentsql: read %s: %w", id, err)
	}
	return c, nil
}

// ApplyEvent moves consent id by ev (consent.Apply: transition, time guard,
// rejection rules) at the store clock. In one transaction it locks the row,
// computes the transition from the current status, writes the new state
// with version+1, one history row and one outbox event; when the consent
// becomes REJECTED, its linked purpose consents are revoked in the same
// transaction as their rule says (see ApplyEventCascade, which also reports
// them). It returns the consent after the change, or consent.ErrNotFound,
// *consent.IllegalTransitionError or *consent.PreconditionError with
// nothing written. EventCreate and EventExtend go through Create and Extend.
func (s *Store) ApplyEvent(ctx context.Context, id string, ev consent.Event, actor consent.AuditActor) (consent.Consent, error) {
	c, _, err := s.ApplyEventCascade(ctx, id, ev, actor, LinkedOptions{})
	return c, err
}

// ApplyEventCascade is ApplyEvent that also returns what the change did to
// linked purpose consents: when the consent becomes REJECTED (revoked,
// rejected or expired), every ACTIVE purpose consent linked to it whose
// rule is REVOKE_LINKED, or ASK_CUSTOMER and listed in opts.AlsoRevoke, is
// revoked (REVOKE_LINKED) in the same transaction, each with its history
// row and outbox event.
func (s *Store) ApplyEventCascade(ctx context.Context, id string, ev consent.Event, actor consent.AuditActor, opts LinkedOptions) (consent.Consent, Cascade, error) {
	var (
		out consent.Consent
		cas Cascade
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cas = Cascade{}
		c, err := s.getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		from := c.Status
		if err := consent.Apply(&c, ev, now, actor.Detail); err != nil {
			return err
		}
		if err := s.writeState(ctx, tx, &c); err != nil {
			return err
		}
		out = c
		if err := s.recordChange(ctx, tx, c, from, ev, now, actor); err != nil {
			return err
		}
		if c.Status == consent.StatusRejected {
			revoked, err := s.cascadeFromConsent(ctx, tx, c, ev, now, actor, opts.AlsoRevoke, "")
			if err != nil {
				return err
			}
			cas.Revoked = revoked
		}
		return nil
	})
	if err != nil {
		return consent.Consent{}, Cascade{}, err
	}
	return out, cas, nil
}

// Extend renews an authorised consent (consent.ApplyExtension) and records
// the extension, a history row and an outbox event in one transaction. It
// returns the consent after the change and the stored extension.
func (s *Store) Extend(ctx context.Context, id string, ext consent.Extension, actor consent.AuditActor) (consent.Consent, consent.Extension, error) {
	var (
		out    consent.Consent
		stored consent.Extension
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		ext.ExpirationDateTime = sqlstore.NormTimePtr(ext.ExpirationDateTime)
		if !ext.RequestDateTime.IsZero() {
			ext.RequestDateTime = sqlstore.NormTime(ext.RequestDateTime)
		}
		e, err := consent.ApplyExtension(&c, ext, now)
		if err != nil {
			return err
		}
		if err := s.writeState(ctx, tx, &c); err != nil {
			return err
		}
		var beID, beRel sql.NullString
		if e.BusinessEntity != nil {
			beID = nullStr(e.BusinessEntity.Document.Identification, true)
			beRel = nullStr(e.BusinessEntity.Document.Rel, true)
		}
		if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consent_extensions (consent_id, expiration_date_time,
			previous_expiration_date_time, logged_user_identification, logged_user_rel, business_entity_identification,
			business_entity_rel, request_date_time, customer_ip_address, customer_user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ID, s.d.NullTime(e.ExpirationDateTime), s.d.NullTime(e.PreviousExpirationDateTime),
			e.LoggedUser.Document.Identification, e.LoggedUser.Document.Rel, beID, beRel,
			s.d.Time(e.RequestDateTime), e.CustomerIPAddress, e.CustomerUserAgent); err != nil {
			return fmt.Errorf("consentsql: insert extension of %s: %w", c.ID, err)
		}
		out, stored = c, e
		return s.recordChange(ctx, tx, c, c.Status, consent.EventExtend, now, actor)
	})
	if err != nil {
		return consent.Consent{}, consent.Extension{}, err
	}
	return out, stored, nil
}

// Extensions lists the renewals of a consent, newest first.
func (s *Store) Extensions(ctx context.Context, id string) ([]consent.Extension, error) {
	return s.extensions(ctx, s.db, id)
}

func (s *Store) extensions(ctx context.Context, q querier, id string) ([]consent.Extension, error) {
	rows, err := q.QueryContext(ctx, s.d.Q(`SELECT expiration_date_time, previous_expiration_date_time,
		logged_user_identification, logged_user_rel, business_entity_identification, business_entity_rel,
		request_date_time, customer_ip_address, customer_user_agent
		FROM consent_extensions WHERE consent_id = ? ORDER BY seq DESC`), id)
	if err != nil {
		return nil, fmt.Errorf("consentsql: extensions of %s: %w", id, err)
	}
	defer rows.Close()
	var out []consent.Extension
	for rows.Next() {
		var (
			e             consent.Extension
			exp, prev, at sqlstore.Time
			beID, beRel   sql.NullString
		)
		if err := rows.Scan(&exp, &prev, &e.LoggedUser.Document.Identification, &e.LoggedUser.Document.Rel,
			&beID, &beRel, &at, &e.CustomerIPAddress, &e.CustomerUserAgent); err != nil {
			return nil, fmt.Errorf("consentsql: extensions of %s: %w", id, err)
		}
		e.ExpirationDateTime, e.PreviousExpirationDateTime, e.RequestDateTime = exp.Ptr(), prev.Ptr(), at.T
		if beID.Valid {
			e.BusinessEntity = &consent.BusinessEntity{Document: consent.Document{Identification: beID.String, Rel: beRel.String}}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// writeState writes the mutable columns of c with version+1, guarded by the
// version read (optimistic check on top of the row lock).
func (s *Store) writeState(ctx context.Context, tx *sql.Tx, c *consent.Consent) error {
	var rejBy, rejReason, rejInfo sql.NullString
	if c.Rejection != nil {
		rejBy = nullStr(string(c.Rejection.RejectedBy), true)
		rejReason = nullStr(string(c.Rejection.Reason), true)
		rejInfo = nullStr(c.Rejection.AdditionalInformation, c.Rejection.AdditionalInformation != "")
	}
	res, err := tx.ExecContext(ctx, s.d.Q(`UPDATE consents SET status = ?, status_update_date_time = ?,
		expiration_date_time = ?, rejected_by = ?, rejection_reason = ?, rejection_info = ?, version = version + 1
		WHERE id = ? AND version = ?`),
		string(c.Status), s.d.Time(c.StatusUpdateDateTime), s.d.NullTime(c.ExpirationDateTime),
		rejBy, rejReason, rejInfo, c.ID, c.Version)
	if err != nil {
		return fmt.Errorf("consentsql: update %s: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("consentsql: update %s: %w", c.ID, err)
	}
	if n != 1 {
		return fmt.Errorf("consentsql: update %s at version %d: %w", c.ID, c.Version, consent.ErrConcurrentUpdate)
	}
	c.Version++
	return nil
}

// recordChange writes the history row and the outbox event of a change of c
// (already in its new state) from status from by ev.
func (s *Store) recordChange(ctx context.Context, tx *sql.Tx, c consent.Consent, from consent.Status, ev consent.Event, at time.Time, actor consent.AuditActor) error {
	if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consent_history (consent_id, version, at, from_status, to_status,
		event, who, client_id, interaction_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Version, s.d.Time(at), string(from), string(c.Status), string(ev),
		actor.Who, actor.ClientID, actor.InteractionID, actor.Reason); err != nil {
		if sqlstore.IsUniqueViolation(err) {
			return fmt.Errorf("consentsql: history of %s at version %d: %w", c.ID, c.Version, consent.ErrConcurrentUpdate)
		}
		return fmt.Errorf("consentsql: insert history of %s: %w", c.ID, err)
	}
	payload, err := json.Marshal(consent.NewLifecycleEvent(c, from, ev, at, actor))
	if err != nil {
		return fmt.Errorf("consentsql: encode lifecycle event of %s: %w", c.ID, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consent_outbox (id, consent_id, type, payload, created_at)
		VALUES (?, ?, ?, ?, ?)`), uuid.NewString(), c.ID, consent.OutboxEventType, string(payload), s.d.Time(at)); err != nil {
		return fmt.Errorf("consentsql: insert outbox event of %s: %w", c.ID, err)
	}
	return nil
}

// History returns the audit trail of a consent, oldest first (the first
// entry is the CREATE). An unknown ID gives an empty list.
func (s *Store) History(ctx context.Context, id string) ([]consent.AuditEntry, error) {
	return s.history(ctx, s.db, id)
}

func (s *Store) history(ctx context.Context, q querier, id string) ([]consent.AuditEntry, error) {
	rows, err := q.QueryContext(ctx, s.d.Q(`SELECT at, from_status, to_status, event, who, client_id, interaction_id, reason
		FROM consent_history WHERE consent_id = ? ORDER BY version`), id)
	if err != nil {
		return nil, fmt.Errorf("consentsql: history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []consent.AuditEntry
	for rows.Next() {
		var (
			e              consent.AuditEntry
			at             sqlstore.Time
			from, to, evnt string
		)
		if err := rows.Scan(&at, &from, &to, &evnt, &e.Who, &e.ClientID, &e.InteractionID, &e.Reason); err != nil {
			return nil, fmt.Errorf("consentsql: history of %s: %w", id, err)
		}
		e.At, e.From, e.To, e.Event = at.T, consent.Status(from), consent.Status(to), consent.Event(evnt)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DueTransition is a consent the expiry job must move, and the event to apply.
type DueTransition struct {
	ConsentID string
	Event     consent.Event
}

// ListDue returns up to limit consents due to expire at now: awaiting
// authorisation for AwaitingAuthorisationTTL or more (EventExpireAwaiting),
// and authorised with expirationDateTime <= now (EventExpireAuthorised),
// oldest first. The job applies each with ApplyEvent and ignores
// *consent.IllegalTransitionError and *consent.PreconditionError (someone
// moved or extended the consent in between).
func (s *Store) ListDue(ctx context.Context, now time.Time, limit int) ([]DueTransition, error) {
	if limit <= 0 {
		limit = 500
	}
	now = sqlstore.NormTime(now)
	cutoff := now.Add(-consent.AwaitingAuthorisationTTL)
	var out []DueTransition
	queries := []struct {
		ev    consent.Event
		query string
		arg   time.Time
	}{
		{consent.EventExpireAwaiting, `SELECT id FROM consents WHERE status = 'AWAITING_AUTHORISATION'
			AND creation_date_time <= ? ORDER BY creation_date_time, id LIMIT ?`, cutoff},
		{consent.EventExpireAuthorised, `SELECT id FROM consents WHERE status = 'AUTHORISED'
			AND expiration_date_time IS NOT NULL AND expiration_date_time <= ? ORDER BY expiration_date_time, id LIMIT ?`, now},
	}
	for _, q := range queries {
		rows, err := s.db.QueryContext(ctx, s.d.Q(q.query), s.d.Time(q.arg), limit-len(out))
		if err != nil {
			return nil, fmt.Errorf("consentsql: list due consents: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("consentsql: list due consents: %w", err)
			}
			out = append(out, DueTransition{ConsentID: id, Event: q.ev})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("consentsql: list due consents: %w", err)
		}
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// Filter selects consents for Search. Zero fields do not filter.
type Filter struct {
	// Document matches the loggedUser's or the businessEntity's identification.
	Document string
	ClientID string
	Status   consent.Status
	// Role selects HOLDER or RECEIVER consents.
	Role consent.Role
	// CreatedFrom (inclusive) and CreatedTo (exclusive) bound CreationDateTime.
	CreatedFrom, CreatedTo time.Time
	// Page is 1-based (default 1); PageSize defaults to 25 and is capped at 1000.
	Page, PageSize int
}

// Page is one page of a Search, newest first.
type Page struct {
	Consents     []consent.Consent
	TotalRecords int
	TotalPages   int
	Page         int
	PageSize     int
}

// Search lists consents matching f, newest first, one page at a time.
func (s *Store) Search(ctx context.Context, f Filter) (Page, error) {
	if f.Page <= 0 {
		f.Page = 1
	}
	if f.PageSize <= 0 {
		f.PageSize = 25
	}
	if f.PageSize > 1000 {
		f.PageSize = 1000
	}
	var (
		where []string
		args  []any
	)
	if f.Document != "" {
		where = append(where, `(logged_user_identification = ? OR business_entity_identification = ?)`)
		args = append(args, f.Document, f.Document)
	}
	if f.ClientID != "" {
		where = append(where, `client_id = ?`)
		args = append(args, f.ClientID)
	}
	if f.Status != "" {
		where = append(where, `status = ?`)
		args = append(args, string(f.Status))
	}
	if f.Role != "" {
		where = append(where, `role = ?`)
		args = append(args, string(f.Role))
	}
	if !f.CreatedFrom.IsZero() {
		where = append(where, `creation_date_time >= ?`)
		args = append(args, s.d.Time(sqlstore.NormTime(f.CreatedFrom)))
	}
	if !f.CreatedTo.IsZero() {
		where = append(where, `creation_date_time < ?`)
		args = append(args, s.d.Time(sqlstore.NormTime(f.CreatedTo)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	p := Page{Page: f.Page, PageSize: f.PageSize}
	if err := s.db.QueryRowContext(ctx, s.d.Q(`SELECT COUNT(*) FROM consents`+cond), args...).Scan(&p.TotalRecords); err != nil {
		return Page{}, fmt.Errorf("consentsql: count consents: %w", err)
	}
	p.TotalPages = (p.TotalRecords + f.PageSize - 1) / f.PageSize
	rows, err := s.db.QueryContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM consents`+cond+
		` ORDER BY creation_date_time DESC, id DESC LIMIT ? OFFSET ?`), append(args, f.PageSize, (f.Page-1)*f.PageSize)...)
	if err != nil {
		return Page{}, fmt.Errorf("consentsql: search consents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return Page{}, fmt.Errorf("consentsql: search consents: %w", err)
		}
		p.Consents = append(p.Consents, c)
	}
	return p, rows.Err()
}

// ClaimOutbox hands out up to limit unpublished outbox events, oldest first,
// and hides them from other claimers for the claim lease. The caller
// publishes them and then calls MarkPublished; events not marked in time are
// handed out again (at-least-once: consumers drop duplicates by event ID).
func (s *Store) ClaimOutbox(ctx context.Context, limit int) ([]consent.OutboxEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	now := s.clock()
	type claimed struct {
		seq int64
		ev  consent.OutboxEvent
	}
	var got []claimed
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.d.Q(`UPDATE consent_outbox SET claimed_until = ?
			WHERE seq IN (SELECT seq FROM consent_outbox WHERE published_at IS NULL
				AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY seq LIMIT ?`+s.d.SkipLocked+`)
			RETURNING seq, id, consent_id, type, payload, created_at`),
			s.d.Time(now.Add(s.lease)), s.d.Time(now), limit)
		if err != nil {
			return fmt.Errorf("consentsql: claim outbox: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				c       claimed
				payload string
				at      sqlstore.Time
			)
			if err := rows.Scan(&c.seq, &c.ev.ID, &c.ev.ConsentID, &c.ev.Type, &payload, &at); err != nil {
				return fmt.Errorf("consentsql: claim outbox: %w", err)
			}
			c.ev.Payload, c.ev.CreatedAt = json.RawMessage(payload), at.T
			got = append(got, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(got, func(i, j int) bool { return got[i].seq < got[j].seq })
	out := make([]consent.OutboxEvent, len(got))
	for i, c := range got {
		out[i] = c.ev
	}
	return out, nil
}

// MarkPublished records that the events with these IDs reached Kafka; they
// are never handed out again. Unknown or already published IDs are ignored.
func (s *Store) MarkPublished(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{s.d.Time(s.clock())}
	for _, id := range ids {
		args = append(args, id)
	}
	q := `UPDATE consent_outbox SET published_at = ? WHERE published_at IS NULL AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
	if _, err := s.db.ExecContext(ctx, s.d.Q(q), args...); err != nil {
		return fmt.Errorf("consentsql: mark %d outbox events published: %w", len(ids), err)
	}
	return nil
}

// PendingOutbox counts the events not yet marked published (for metrics and tests).
func (s *Store) PendingOutbox(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM consent_outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("consentsql: count pending outbox: %w", err)
	}
	return n, nil
}
