package consentsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

// LinkedOptions carries the customer's decisions for links whose rule is
// ASK_CUSTOMER (the portal's confirmation page asks). Revocations made
// without the customer leave such links alone.
type LinkedOptions struct {
	// AlsoRevoke (ApplyEventCascade): ASK_CUSTOMER purpose consents linked to
	// the consent being rejected that the customer chose to revoke with it.
	// IDs that are not such consents are ignored.
	AlsoRevoke []string
	// RevokeLinkedConsent (RevokePurpose): the customer chose to revoke the
	// regulated consent linked to an ASK_CUSTOMER purpose consent too.
	RevokeLinkedConsent bool
}

// Cascade is what one change did to linked consents, in its transaction.
type Cascade struct {
	// Rejected are regulated consents moved to REJECTED because a purpose
	// consent linked to them was revoked. The caller revokes their tokens
	// (HOLDER) — RECEIVER ones are revoked at their holder by the connector
	// that consumes their lifecycle event.
	Rejected []consent.Consent
	// Revoked are purpose consents revoked (REVOKE_LINKED) because the
	// regulated consent they are linked to ended.
	Revoked []consent.PurposeConsent
}

const purposeColumns = `id, purpose_id, legal_basis, revocation_rule, customer_identification, customer_rel, partner_id,
	linked_consent_id, permissions, status, granted_at, status_update_date_time, expires_at, revocation_reason, version`

func scanPurposeConsent(r rowScanner) (consent.PurposeConsent, error) {
	var (
		p                           consent.PurposeConsent
		rule, perms, status         string
		linked                      sql.NullString
		granted, updated, expiresAt sqlstore.Time
	)
	if err := r.Scan(&p.ID, &p.PurposeID, &p.LegalBasis, &rule, &p.Customer.Identification, &p.Customer.Rel, &p.PartnerID,
		&linked, &perms, &status, &granted, &updated, &expiresAt, &p.RevocationReason, &p.Version); err != nil {
		return consent.PurposeConsent{}, err
	}
	p.RevocationRule, p.Status, p.LinkedConsentID = consent.LinkRule(rule), consent.PurposeStatus(status), linked.String
	if err := json.Unmarshal([]byte(perms), &p.Permissions); err != nil {
		return consent.PurposeConsent{}, fmt.Errorf("consentsql: purpose consent %s has unreadable permissions: %w", p.ID, err)
	}
	if len(p.Permissions) == 0 {
		p.Permissions = nil
	}
	p.GrantedAt, p.StatusUpdateDateTime, p.ExpiresAt = granted.T, updated.T, expiresAt.Ptr()
	return p, nil
}

// GrantPurpose stores a new purpose consent (consent.NewPurposeConsent:
// ACTIVE, version 1, granted now unless GrantedAt is set) with its GRANT
// history row and outbox event. With LinkedConsentID, the regulated consent
// is locked for the transaction and must exist, be about the same customer
// (loggedUser or businessEntity) and not be REJECTED, otherwise
// consent.ErrPurposeLink. A duplicate ID is consent.ErrAlreadyExists.
func (s *Store) GrantPurpose(ctx context.Context, p consent.PurposeConsent, actor consent.AuditActor) (consent.PurposeConsent, error) {
	now := s.clock()
	p.GrantedAt = sqlstore.NormTime(p.GrantedAt)
	p.ExpiresAt = sqlstore.NormTimePtr(p.ExpiresAt)
	p, err := consent.NewPurposeConsent(p, now)
	if err != nil {
		return consent.PurposeConsent{}, err
	}
	p.GrantedAt = sqlstore.NormTime(p.GrantedAt)
	p.StatusUpdateDateTime = p.GrantedAt
	perms, err := json.Marshal(nonNil(p.Permissions))
	if err != nil {
		return consent.PurposeConsent{}, fmt.Errorf("consentsql: encode permissions: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var linked sql.NullString
		if p.LinkedConsentID != "" {
			c, err := s.getForUpdate(ctx, tx, p.LinkedConsentID)
			if errors.Is(err, consent.ErrNotFound) {
				return fmt.Errorf("consentsql: link %s to %s: it does not exist: %w", p.ID, p.LinkedConsentID, consent.ErrPurposeLink)
			}
			if err != nil {
				return err
			}
			if !c.Customer(p.Customer.Identification) {
				return fmt.Errorf("consentsql: link %s to %s: another customer's consent: %w", p.ID, c.ID, consent.ErrPurposeLink)
			}
			if c.Status == consent.StatusRejected {
				return fmt.Errorf("consentsql: link %s to %s: it is REJECTED: %w", p.ID, c.ID, consent.ErrPurposeLink)
			}
			linked = nullStr(c.ID, true)
		}
		_, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO purpose_consents (`+purposeColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.ID, p.PurposeID, p.LegalBasis, string(p.RevocationRule), p.Customer.Identification, p.Customer.Rel, p.PartnerID,
			linked, string(perms), string(p.Status), s.d.Time(p.GrantedAt), s.d.Time(p.StatusUpdateDateTime),
			s.d.NullTime(p.ExpiresAt), p.RevocationReason, p.Version)
		if err != nil {
			if sqlstore.IsUniqueViolation(err) {
				return fmt.Errorf("consentsql: grant %s: %w", p.ID, consent.ErrAlreadyExists)
			}
			return fmt.Errorf("consentsql: insert purpose consent %s: %w", p.ID, err)
		}
		return s.recordPurposeChange(ctx, tx, p, consent.PurposeNone, consent.PurposeEventGrant, now, actor)
	})
	if err != nil {
		return consent.PurposeConsent{}, err
	}
	return p, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetPurpose returns the purpose consent or consent.ErrNotFound.
func (s *Store) GetPurpose(ctx context.Context, id string) (consent.PurposeConsent, error) {
	p, err := scanPurposeConsent(s.db.QueryRowContext(ctx, s.d.Q(`SELECT `+purposeColumns+` FROM purpose_consents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.PurposeConsent{}, fmt.Errorf("consentsql: get purpose consent %s: %w", id, consent.ErrNotFound)
	}
	if err != nil {
		return consent.PurposeConsent{}, fmt.Errorf("consentsql: get purpose consent %s: %w", id, err)
	}
	return p, nil
}

func (s *Store) getPurposeForUpdate(ctx context.Context, tx *sql.Tx, id string) (consent.PurposeConsent, error) {
	p, err := scanPurposeConsent(tx.QueryRowContext(ctx, s.d.Q(`SELECT `+purposeColumns+` FROM purpose_consents WHERE id = ?`+s.d.ForUpdate), id))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.PurposeConsent{}, fmt.Errorf("consentsql: purpose consent %s: %w", id, consent.ErrNotFound)
	}
	if err != nil {
		return consent.PurposeConsent{}, fmt.Errorf("consentsql: read purpose consent %s: %w", id, err)
	}
	return p, nil
}

// LinkedPurposes lists the purpose consents linked to regulated consent id
// (any status), oldest first.
func (s *Store) LinkedPurposes(ctx context.Context, id string) ([]consent.PurposeConsent, error) {
	return s.queryPurposes(ctx, s.db, `SELECT `+purposeColumns+` FROM purpose_consents WHERE linked_consent_id = ? ORDER BY granted_at, id`, id)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) queryPurposes(ctx context.Context, q querier, query string, args ...any) ([]consent.PurposeConsent, error) {
	rows, err := q.QueryContext(ctx, s.d.Q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("consentsql: list purpose consents: %w", err)
	}
	defer rows.Close()
	var out []consent.PurposeConsent
	for rows.Next() {
		p, err := scanPurposeConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("consentsql: list purpose consents: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RevokePurpose revokes an ACTIVE purpose consent (REVOKE, reason =
// actor.Reason). When it is linked and its rule is REVOKE_LINKED (or
// ASK_CUSTOMER with opts.RevokeLinkedConsent), the linked regulated consent
// is rejected in the same transaction — HOLDER: REVOKE_BY_USER when
// AUTHORISED, REJECT_BY_USER when awaiting; RECEIVER: REVOKE_BY_TPP (the
// connector then revokes it at its holder from the outbox event) — and that
// rejection cascades to the regulated consent's other linked purpose
// consents as in ApplyEventCascade. Locks are taken regulated consent
// first, then purpose consents, in every method, so concurrent cascades
// never deadlock.
func (s *Store) RevokePurpose(ctx context.Context, id string, actor consent.AuditActor, opts LinkedOptions) (consent.PurposeConsent, Cascade, error) {
	var (
		out consent.PurposeConsent
		cas Cascade
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cas = Cascade{}
		// The link never changes after the grant, so it can be read before
		// the locks are taken in order.
		var linked sql.NullString
		err := tx.QueryRowContext(ctx, s.d.Q(`SELECT linked_consent_id FROM purpose_consents WHERE id = ?`), id).Scan(&linked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("consentsql: purpose consent %s: %w", id, consent.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("consentsql: read purpose consent %s: %w", id, err)
		}
		var lc consent.Consent
		if linked.Valid {
			if lc, err = s.getForUpdate(ctx, tx, linked.String); err != nil {
				return err
			}
		}
		p, err := s.getPurposeForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		from := p.Status
		if err := consent.ApplyPurpose(&p, consent.PurposeEventRevoke, now, actor.Reason); err != nil {
			return err
		}
		if err := s.writePurposeState(ctx, tx, &p); err != nil {
			return err
		}
		if err := s.recordPurposeChange(ctx, tx, p, from, consent.PurposeEventRevoke, now, actor); err != nil {
			return err
		}
		out = p
		follow := p.RevocationRule == consent.LinkRevoke || (p.RevocationRule == consent.LinkAsk && opts.RevokeLinkedConsent)
		if !linked.Valid || !follow || lc.Status == consent.StatusRejected {
			return nil
		}
		ev := consent.EventRevokeByUser
		switch {
		case lc.Role == consent.RoleReceiver:
			ev = consent.EventRevokeByTPP
		case lc.Status == consent.StatusAwaitingAuthorisation:
			ev = consent.EventRejectByUser
		}
		cascadeActor := actor
		cascadeActor.Reason = fmt.Sprintf("linked purpose consent %s revoked (rule %s)", p.ID, p.RevocationRule)
		cascadeActor.Detail = ""
		lfrom := lc.Status
		if err := consent.Apply(&lc, ev, now, ""); err != nil {
			return err
		}
		if err := s.writeState(ctx, tx, &lc); err != nil {
			return err
		}
		if err := s.recordChange(ctx, tx, lc, lfrom, ev, now, cascadeActor); err != nil {
			return err
		}
		cas.Rejected = []consent.Consent{lc}
		revoked, err := s.cascadeFromConsent(ctx, tx, lc, ev, now, actor, nil, p.ID)
		if err != nil {
			return err
		}
		cas.Revoked = revoked
		return nil
	})
	if err != nil {
		return consent.PurposeConsent{}, Cascade{}, err
	}
	return out, cas, nil
}

// cascadeFromConsent revokes, inside tx, the ACTIVE purpose consents linked
// to c (just REJECTED by ev) whose rule is REVOKE_LINKED, or ASK_CUSTOMER
// and listed in ask; skip is a purpose consent already handled.
func (s *Store) cascadeFromConsent(ctx context.Context, tx *sql.Tx, c consent.Consent, ev consent.Event, now time.Time,
	actor consent.AuditActor, ask []string, skip string) ([]consent.PurposeConsent, error) {
	linked, err := s.queryPurposes(ctx, tx, `SELECT `+purposeColumns+` FROM purpose_consents
		WHERE linked_consent_id = ? AND status = 'ACTIVE' ORDER BY id`+s.d.ForUpdate, c.ID)
	if err != nil {
		return nil, err
	}
	var out []consent.PurposeConsent
	for _, p := range linked {
		if p.ID == skip {
			continue
		}
		if p.RevocationRule != consent.LinkRevoke && !(p.RevocationRule == consent.LinkAsk && slices.Contains(ask, p.ID)) {
			continue
		}
		reason := fmt.Sprintf("linked consent %s ended (%s)", c.ID, ev)
		if err := consent.ApplyPurpose(&p, consent.PurposeEventRevokeLinked, now, reason); err != nil {
			return nil, err
		}
		if err := s.writePurposeState(ctx, tx, &p); err != nil {
			return nil, err
		}
		a := actor
		a.Reason = reason
		if err := s.recordPurposeChange(ctx, tx, p, consent.PurposeActive, consent.PurposeEventRevokeLinked, now, a); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// RenewPurpose sets a new expiry (nil = open-ended) on an ACTIVE purpose
// consent (consent.RenewPurpose), with a RENEW history row and outbox event.
func (s *Store) RenewPurpose(ctx context.Context, id string, expiresAt *time.Time, actor consent.AuditActor) (consent.PurposeConsent, error) {
	var out consent.PurposeConsent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := s.getPurposeForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		if err := consent.RenewPurpose(&p, sqlstore.NormTimePtr(expiresAt), now); err != nil {
			return err
		}
		p.StatusUpdateDateTime = now
		if err := s.writePurposeState(ctx, tx, &p); err != nil {
			return err
		}
		out = p
		return s.recordPurposeChange(ctx, tx, p, consent.PurposeActive, consent.PurposeEventRenew, now, actor)
	})
	if err != nil {
		return consent.PurposeConsent{}, err
	}
	return out, nil
}

// ExpirePurpose moves an ACTIVE purpose consent past its ExpiresAt to
// EXPIRED. Expiry is not a revocation: linked consents are left alone.
// *consent.PurposeTransitionError or *consent.PreconditionError mean
// someone moved or renewed it in between.
func (s *Store) ExpirePurpose(ctx context.Context, id string, actor consent.AuditActor) (consent.PurposeConsent, error) {
	var out consent.PurposeConsent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := s.getPurposeForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		if err := consent.ApplyPurpose(&p, consent.PurposeEventExpire, now, "expiry reached"); err != nil {
			return err
		}
		if err := s.writePurposeState(ctx, tx, &p); err != nil {
			return err
		}
		out = p
		return s.recordPurposeChange(ctx, tx, p, consent.PurposeActive, consent.PurposeEventExpire, now, actor)
	})
	if err != nil {
		return consent.PurposeConsent{}, err
	}
	return out, nil
}

// ListDuePurposes returns up to limit ACTIVE purpose consents whose
// ExpiresAt is at or before now, soonest first.
func (s *Store) ListDuePurposes(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 500
	}
	rows, err := s.db.QueryContext(ctx, s.d.Q(`SELECT id FROM purpose_consents WHERE status = 'ACTIVE'
		AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`), s.d.Time(sqlstore.NormTime(now)), limit)
	if err != nil {
		return nil, fmt.Errorf("consentsql: list due purpose consents: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("consentsql: list due purpose consents: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (s *Store) writePurposeState(ctx context.Context, tx *sql.Tx, p *consent.PurposeConsent) error {
	res, err := tx.ExecContext(ctx, s.d.Q(`UPDATE purpose_consents SET status = ?, status_update_date_time = ?, expires_at = ?,
		revocation_reason = ?, version = version + 1 WHERE id = ? AND version = ?`),
		string(p.Status), s.d.Time(p.StatusUpdateDateTime), s.d.NullTime(p.ExpiresAt), p.RevocationReason, p.ID, p.Version)
	if err != nil {
		return fmt.Errorf("consentsql: update purpose consent %s: %w", p.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("consentsql: update purpose consent %s: %w", p.ID, err)
	}
	if n != 1 {
		return fmt.Errorf("consentsql: update purpose consent %s at version %d: %w", p.ID, p.Version, consent.ErrConcurrentUpdate)
	}
	p.Version++
	return nil
}

func (s *Store) recordPurposeChange(ctx context.Context, tx *sql.Tx, p consent.PurposeConsent, from consent.PurposeStatus,
	ev consent.PurposeEvent, at time.Time, actor consent.AuditActor) error {
	if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO purpose_consent_history (consent_id, version, at, from_status, to_status,
		event, who, client_id, interaction_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		p.ID, p.Version, s.d.Time(at), string(from), string(p.Status), string(ev),
		actor.Who, actor.ClientID, actor.InteractionID, actor.Reason); err != nil {
		if sqlstore.IsUniqueViolation(err) {
			return fmt.Errorf("consentsql: history of %s at version %d: %w", p.ID, p.Version, consent.ErrConcurrentUpdate)
		}
		return fmt.Errorf("consentsql: insert purpose consent history of %s: %w", p.ID, err)
	}
	payload, err := json.Marshal(consent.PurposeEventPayload{
		PurposeConsentID: p.ID, PurposeID: p.PurposeID, Event: ev, From: from, To: p.Status, At: at.UTC(), Version: p.Version,
		PartnerID: p.PartnerID, LinkedConsentID: p.LinkedConsentID, Reason: p.RevocationReason,
	})
	if err != nil {
		return fmt.Errorf("consentsql: encode purpose consent event of %s: %w", p.ID, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consent_outbox (id, consent_id, type, payload, created_at)
		VALUES (?, ?, ?, ?, ?)`), uuid.NewString(), p.ID, consent.PurposeOutboxEventType, string(payload), s.d.Time(at)); err != nil {
		return fmt.Errorf("consentsql: insert outbox event of %s: %w", p.ID, err)
	}
	return nil
}

// PurposeHistory returns the audit trail of a purpose consent, oldest first.
func (s *Store) PurposeHistory(ctx context.Context, id string) ([]consent.PurposeAuditEntry, error) {
	return s.purposeHistory(ctx, s.db, id)
}

// Authorise moves consent id from AWAITING_AUTHORISATION to AUTHORISED
// (consent.Apply with EventAuthorise: the 60-minute window is checked) and
// stores the resources the customer chose, in one transaction with the
// history row and outbox event. It is what authz's ConsentGate.Authorise
// calls through the adapter in cmd/ofp.
func (s *Store) Authorise(ctx context.Context, id string, resources []consent.Resource, actor consent.AuditActor) (consent.Consent, error) {
	if err := consent.ValidateResources(resources); err != nil {
		return consent.Consent{}, err
	}
	var out consent.Consent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		from := c.Status
		if err := consent.Apply(&c, consent.EventAuthorise, now, ""); err != nil {
			return err
		}
		if err := s.writeState(ctx, tx, &c); err != nil {
			return err
		}
		for _, r := range resources {
			if _, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO consent_resources (consent_id, resource_id, type, status)
				VALUES (?, ?, ?, ?)`), c.ID, r.ID, r.Type, r.Status); err != nil {
				return fmt.Errorf("consentsql: insert resource of %s: %w", c.ID, err)
			}
		}
		out = c
		return s.recordChange(ctx, tx, c, from, consent.EventAuthorise, now, actor)
	})
	if err != nil {
		return consent.Consent{}, err
	}
	return out, nil
}

// Resources lists the resources of a consent ordered by type and ID.
func (s *Store) Resources(ctx context.Context, id string) ([]consent.Resource, error) {
	return s.resources(ctx, s.db, id)
}

func (s *Store) resources(ctx context.Context, q querier, id string) ([]consent.Resource, error) {
	rows, err := q.QueryContext(ctx, s.d.Q(`SELECT resource_id, type, status FROM consent_resources
		WHERE consent_id = ? ORDER BY type, resource_id`), id)
	if err != nil {
		return nil, fmt.Errorf("consentsql: resources of %s: %w", id, err)
	}
	defer rows.Close()
	var out []consent.Resource
	for rows.Next() {
		var r consent.Resource
		if err := rows.Scan(&r.ID, &r.Type, &r.Status); err != nil {
			return nil, fmt.Errorf("consentsql: resources of %s: %w", id, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ConsentRecord is a regulated consent with everything the portal shows.
type ConsentRecord struct {
	Consent    consent.Consent
	History    []consent.AuditEntry
	Extensions []consent.Extension
	Resources  []consent.Resource
	// Linked are the IDs of the purpose consents linked to it.
	Linked []string
}

// PurposeRecord is a purpose consent with its history.
type PurposeRecord struct {
	Consent consent.PurposeConsent
	History []consent.PurposeAuditEntry
}

// CustomerConsents is everything a customer has agreed to, in both
// ecosystems: regulated consents the institution holds for receivers and
// those it obtained as receiver (Role tells), and the non-regulated purpose
// consents, each with its full history; newest first.
type CustomerConsents struct {
	Document string
	Consents []ConsentRecord
	Purposes []PurposeRecord
}

// CustomerConsents returns, in one read transaction (a consistent
// snapshot), every consent about document (a CPF or CNPJ: as loggedUser,
// businessEntity, or purpose consent customer) with its history, renewals,
// resources and links.
func (s *Store) CustomerConsents(ctx context.Context, document string) (CustomerConsents, error) {
	out := CustomerConsents{Document: document}
	if strings.TrimSpace(document) == "" {
		return out, nil
	}
	tx, err := s.db.BeginTx(ctx, s.d.ReadTx)
	if err != nil {
		return out, fmt.Errorf("consentsql: begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rows, err := tx.QueryContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM consents
		WHERE logged_user_identification = ? OR business_entity_identification = ?
		ORDER BY creation_date_time DESC, id DESC`), document, document)
	if err != nil {
		return out, fmt.Errorf("consentsql: consents of a customer: %w", err)
	}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			rows.Close()
			return out, fmt.Errorf("consentsql: consents of a customer: %w", err)
		}
		out.Consents = append(out.Consents, ConsentRecord{Consent: c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("consentsql: consents of a customer: %w", err)
	}
	purposes, err := s.queryPurposes(ctx, tx, `SELECT `+purposeColumns+` FROM purpose_consents
		WHERE customer_identification = ? ORDER BY granted_at DESC, id DESC`, document)
	if err != nil {
		return out, err
	}
	index := map[string]int{}
	for i := range out.Consents {
		r := &out.Consents[i]
		index[r.Consent.ID] = i
		if r.History, err = s.history(ctx, tx, r.Consent.ID); err != nil {
			return out, err
		}
		if r.Extensions, err = s.extensions(ctx, tx, r.Consent.ID); err != nil {
			return out, err
		}
		if r.Resources, err = s.resources(ctx, tx, r.Consent.ID); err != nil {
			return out, err
		}
	}
	for _, p := range purposes {
		h, err := s.purposeHistory(ctx, tx, p.ID)
		if err != nil {
			return out, err
		}
		out.Purposes = append(out.Purposes, PurposeRecord{Consent: p, History: h})
		if i, ok := index[p.LinkedConsentID]; ok {
			out.Consents[i].Linked = append(out.Consents[i].Linked, p.ID)
		}
	}
	return out, nil
}

// purposeHistory is PurposeHistory on q.
func (s *Store) purposeHistory(ctx context.Context, q querier, id string) ([]consent.PurposeAuditEntry, error) {
	rows, err := q.QueryContext(ctx, s.d.Q(`SELECT at, from_status, to_status, event, who, client_id, interaction_id, reason
		FROM purpose_consent_history WHERE consent_id = ? ORDER BY version`), id)
	if err != nil {
		return nil, fmt.Errorf("consentsql: history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []consent.PurposeAuditEntry
	for rows.Next() {
		var (
			e              consent.PurposeAuditEntry
			at             sqlstore.Time
			from, to, evnt string
		)
		if err := rows.Scan(&at, &from, &to, &evnt, &e.Who, &e.ClientID, &e.InteractionID, &e.Reason); err != nil {
			return nil, fmt.Errorf("consentsql: history of %s: %w", id, err)
		}
		e.At, e.From, e.To, e.Event = at.T, consent.PurposeStatus(from), consent.PurposeStatus(to), consent.PurposeEvent(evnt)
		out = append(out, e)
	}
	return out, rows.Err()
}
