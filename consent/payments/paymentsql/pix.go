package paymentsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/internal/sqlstore"
)

const paymentColumns = `id, consent_id, client_id, org_id, batch_id, end_to_end_id, status, version, creation_date_time,
	status_update_date_time, scheduled_date, rejection_code, rejection_detail, cancellation, body`

func scanPayment(r rowScanner) (payments.Payment, error) {
	var (
		p                                 payments.Payment
		e2e, status, body                 string
		sched, rejCode, rejDetail, cancel sql.NullString
		created, updated                  sqlstore.Time
	)
	if err := r.Scan(&p.ID, &p.ConsentID, &p.ClientID, &p.OrgID, &p.BatchID, &e2e, &status, &p.Version, &created, &updated,
		&sched, &rejCode, &rejDetail, &cancel, &body); err != nil {
		return payments.Payment{}, err
	}
	if err := decodePaymentBody(body, &p); err != nil {
		return payments.Payment{}, err
	}
	p.Status = payments.PaymentStatus(status)
	p.CreationDateTime, p.StatusUpdateDateTime = created.T, updated.T
	if sched.Valid {
		d, err := payments.ParseDate(sched.String)
		if err != nil {
			return payments.Payment{}, fmt.Errorf("paymentsql: payment %s: %w", p.ID, err)
		}
		p.ScheduledDate = &d
	}
	if rejCode.Valid {
		p.Rejection = &payments.PaymentRejection{Code: payments.PaymentRejectionCode(rejCode.String), Detail: rejDetail.String}
	}
	if cancel.Valid {
		var cj cancellationJSON
		if err := jsonUnmarshal(cancel.String, &cj); err != nil {
			return payments.Payment{}, fmt.Errorf("paymentsql: payment %s cancellation: %w", p.ID, err)
		}
		p.Cancellation = &payments.Cancellation{Reason: payments.CancellationReason(cj.Reason), From: payments.CancelledFrom(cj.From),
			At: cj.At.UTC(), By: payments.Document{Identification: cj.By.ID, Rel: cj.By.Rel}}
	}
	return p, nil
}

func schedArg(d *payments.Date) sql.NullString {
	if d == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: d.String(), Valid: true}
}

// CreatePayments is POST /pix/payments: under consent consentID's row lock
// it applies a due expiry, checks that clientID owns the consent
// (payments.ErrOtherClient), validates items with payments.NewPayments and
// the endToEndIds against every stored payment, stores the payments (RCVD)
// and consumes the consent (AUTHORISED → CONSUMED), all in one transaction
// with idem's key. A rule refusal is recorded under idem (422) and returned
// as *payments.RuleError; payments.ErrIdempotencyRace when a concurrent
// request with the same key committed first (nothing stored).
func (s *Store) CreatePayments(ctx context.Context, consentID, clientID string, items []payments.Payment, idem *payments.IdempotencyRecord, actor payments.Actor) ([]payments.Payment, error) {
	now := s.clock()
	var out []payments.Payment
	err := s.inTxRule(ctx, func(tx *sql.Tx) error {
		if err := s.claimIdem(ctx, tx, idem, now); err != nil {
			return err
		}
		c, err := s.lockConsent(ctx, tx, consentID)
		if err != nil {
			return err
		}
		if c.ClientID != clientID {
			return fmt.Errorf("paymentsql: consent %s: %w", consentID, payments.ErrOtherClient)
		}
		if c, err = s.expireIfDue(ctx, tx, c, now, actor); err != nil {
			return err
		}
		ps, err := payments.NewPayments(c, items, now, uuid.NewString(), payments.NewPaymentID)
		if re, ok := payments.AsRuleError(err); ok {
			return s.finishIdemRule(ctx, tx, idem, re)
		}
		if err != nil {
			return err
		}
		if used, err := s.usedEndToEnd(ctx, tx, ps); err != nil {
			return err
		} else if used != "" {
			return s.finishIdemRule(ctx, tx, idem, &payments.RuleError{Code: payments.CodeInvalidParameter,
				Detail: "endToEndId " + used + " já utilizado em outro pagamento."})
		}
		ids := make([]string, len(ps))
		for i, p := range ps {
			if err := s.insertPayment(ctx, tx, p, actor); err != nil {
				return err
			}
			ids[i] = p.ID
		}
		consumed := c
		if err := payments.ApplyConsent(&consumed, payments.ConsentEventConsume, now, nil); err != nil {
			return err
		}
		if _, err := s.saveConsent(ctx, tx, c, consumed, payments.ConsentEventConsume, now, actor, ""); err != nil {
			return err
		}
		out = ps
		return s.finishIdem(ctx, tx, idem, 201, ids)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) usedEndToEnd(ctx context.Context, tx *sql.Tx, ps []payments.Payment) (string, error) {
	args := make([]any, len(ps))
	for i, p := range ps {
		args[i] = p.EndToEndID
	}
	var used string
	err := tx.QueryRowContext(ctx, s.d.Q(`SELECT end_to_end_id FROM pix_payments WHERE end_to_end_id IN (?`+
		strings.Repeat(", ?", len(ps)-1)+`) LIMIT 1`), args...).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("paymentsql: check endToEndIds: %w", err)
	}
	return used, nil
}

func (s *Store) insertPayment(ctx context.Context, tx *sql.Tx, p payments.Payment, actor payments.Actor) error {
	body, err := encodePaymentBody(p)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.d.Q(`INSERT INTO pix_payments (`+paymentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?)`),
		p.ID, p.ConsentID, p.ClientID, p.OrgID, p.BatchID, p.EndToEndID, string(p.Status), p.Version,
		s.d.Time(p.CreationDateTime), s.d.Time(p.StatusUpdateDateTime), schedArg(p.ScheduledDate), body)
	if err != nil {
		if sqlstore.IsUniqueViolation(err) {
			return fmt.Errorf("paymentsql: insert payment %s (endToEndId %s): %w", p.ID, p.EndToEndID, payments.ErrDuplicateEndToEnd)
		}
		return fmt.Errorf("paymentsql: insert payment %s: %w", p.ID, err)
	}
	return s.paymentHistory(ctx, tx, p, payments.PaymentNone, payments.PaymentEventCreate, p.CreationDateTime, actor, "")
}

func (s *Store) paymentHistory(ctx context.Context, tx *sql.Tx, p payments.Payment, from payments.PaymentStatus, ev payments.PaymentEvent, at time.Time, actor payments.Actor, detail string) error {
	if detail == "" && p.Rejection != nil && p.Status == payments.PaymentRJCT && from != p.Status {
		detail = string(p.Rejection.Code)
	}
	_, err := tx.ExecContext(ctx, s.d.Q(`INSERT INTO pix_payment_history
		(payment_id, version, at, from_status, to_status, event, who, client_id, interaction_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		p.ID, p.Version, s.d.Time(at), string(from), string(p.Status), string(ev), actor.Who, actor.ClientID, actor.InteractionID, detail)
	if err != nil {
		return fmt.Errorf("paymentsql: history of payment %s: %w", p.ID, err)
	}
	return nil
}

// GetPayment reads a payment (payments.ErrNotFound when absent).
func (s *Store) GetPayment(ctx context.Context, id string) (payments.Payment, error) {
	p, err := scanPayment(s.db.QueryRowContext(ctx, s.d.Q(`SELECT `+paymentColumns+` FROM pix_payments WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return payments.Payment{}, fmt.Errorf("paymentsql: payment %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return payments.Payment{}, fmt.Errorf("paymentsql: read payment %s: %w", id, err)
	}
	return p, nil
}

// GetPayments reads payments by ID, in the order given (for idempotent replays).
func (s *Store) GetPayments(ctx context.Context, ids []string) ([]payments.Payment, error) {
	out := make([]payments.Payment, 0, len(ids))
	for _, id := range ids {
		p, err := s.GetPayment(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// PaymentsOfConsent lists the payments of a consent, oldest first.
func (s *Store) PaymentsOfConsent(ctx context.Context, consentID string) ([]payments.Payment, error) {
	return s.queryPayments(ctx, s.db, `SELECT `+paymentColumns+` FROM pix_payments WHERE consent_id = ? ORDER BY creation_date_time, scheduled_date, id`, consentID)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) queryPayments(ctx context.Context, q querier, query string, args ...any) ([]payments.Payment, error) {
	rows, err := q.QueryContext(ctx, s.d.Q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("paymentsql: list payments: %w", err)
	}
	defer rows.Close()
	var out []payments.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("paymentsql: list payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) lockPayment(ctx context.Context, tx *sql.Tx, id string) (payments.Payment, error) {
	p, err := scanPayment(tx.QueryRowContext(ctx, s.d.Q(`SELECT `+paymentColumns+` FROM pix_payments WHERE id = ?`+s.d.ForUpdate), id))
	if errors.Is(err, sql.ErrNoRows) {
		return payments.Payment{}, fmt.Errorf("paymentsql: payment %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return payments.Payment{}, fmt.Errorf("paymentsql: lock payment %s: %w", id, err)
	}
	return p, nil
}

// savePayment writes p's new state (moved from before by ev), its history
// row and its webhook notice, guarded by the version read.
func (s *Store) savePayment(ctx context.Context, tx *sql.Tx, before, p payments.Payment, ev payments.PaymentEvent, now time.Time, actor payments.Actor) (payments.Payment, error) {
	p.Version = before.Version + 1
	var rejCode, rejDetail, cancel sql.NullString
	if p.Rejection != nil {
		rejCode = sql.NullString{String: string(p.Rejection.Code), Valid: true}
		rejDetail = sql.NullString{String: p.Rejection.Detail, Valid: true}
	}
	if c := p.Cancellation; c != nil {
		js, err := encodeJSON(cancellationJSON{Reason: string(c.Reason), From: string(c.From), At: c.At.UTC(),
			By: docJSON{ID: c.By.Identification, Rel: c.By.Rel}})
		if err != nil {
			return payments.Payment{}, err
		}
		cancel = sql.NullString{String: js, Valid: true}
	}
	res, err := tx.ExecContext(ctx, s.d.Q(`UPDATE pix_payments SET status = ?, version = ?, status_update_date_time = ?,
		rejection_code = ?, rejection_detail = ?, cancellation = ? WHERE id = ? AND version = ?`),
		string(p.Status), p.Version, s.d.Time(p.StatusUpdateDateTime), rejCode, rejDetail, cancel, p.ID, before.Version)
	if err != nil {
		return payments.Payment{}, fmt.Errorf("paymentsql: update payment %s: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return payments.Payment{}, fmt.Errorf("paymentsql: update payment %s: version %d changed under a lock (rows %d, %v)", p.ID, before.Version, n, err)
	}
	if err := s.paymentHistory(ctx, tx, p, before.Status, ev, now, actor, actor.Reason); err != nil {
		return payments.Payment{}, err
	}
	if err := s.addNotice(ctx, tx, payments.NoticePayment, p.ID, p.ClientID, now); err != nil {
		return payments.Payment{}, err
	}
	return p, nil
}

// ApplyPaymentEvent moves payment id by ev at the store's clock if its
// status is still expect (otherwise *payments.IllegalTransitionError: the
// caller acted on a stale read). expect "" skips that check.
func (s *Store) ApplyPaymentEvent(ctx context.Context, id string, expect payments.PaymentStatus, ev payments.PaymentEvent, ch payments.PaymentChange, actor payments.Actor) (payments.Payment, error) {
	now := s.clock()
	var out payments.Payment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		before, err := s.lockPayment(ctx, tx, id)
		if err != nil {
			return err
		}
		if expect != "" && before.Status != expect {
			return &payments.IllegalTransitionError{Kind: "payment", From: string(before.Status), Event: string(ev)}
		}
		p := before
		if err := payments.ApplyPayment(&p, ev, now, ch); err != nil {
			return err
		}
		out, err = s.savePayment(ctx, tx, before, p, ev, now, actor)
		return err
	})
	return out, err
}

// ReadPayment returns payment id as its owner clientID sees it
// (payments.ErrNotFound, payments.ErrOtherClient).
func (s *Store) ReadPayment(ctx context.Context, id, clientID string) (payments.Payment, error) {
	p, err := s.GetPayment(ctx, id)
	if err != nil {
		return payments.Payment{}, err
	}
	if p.ClientID != clientID {
		return payments.Payment{}, fmt.Errorf("paymentsql: payment %s: %w", id, payments.ErrOtherClient)
	}
	return p, nil
}

var cancelNotAllowed = func(detail string) *payments.RuleError {
	return &payments.RuleError{Code: payments.CodeCancelNotAllowed, Detail: detail}
}

// CancelPayment is PATCH /pix/payments/{paymentId}: it cancels payment id of
// clientID (PDNG, or SCHD before its day) on behalf of by. A payment in
// another status, or a scheduled one on its settlement day, is refused with
// a *payments.RuleError PAGAMENTO_NAO_PERMITE_CANCELAMENTO.
func (s *Store) CancelPayment(ctx context.Context, id, clientID string, by payments.Document, from payments.CancelledFrom, actor payments.Actor) (payments.Payment, error) {
	now := s.clock()
	var out payments.Payment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		before, err := s.lockPayment(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.ClientID != clientID {
			return fmt.Errorf("paymentsql: payment %s: %w", id, payments.ErrOtherClient)
		}
		out, err = s.cancelLocked(ctx, tx, before, by, from, now, actor)
		return err
	})
	return out, err
}

// cancelLocked cancels the locked payment before at now.
func (s *Store) cancelLocked(ctx context.Context, tx *sql.Tx, before payments.Payment, by payments.Document, from payments.CancelledFrom, now time.Time, actor payments.Actor) (payments.Payment, error) {
	p := before
	err := payments.ApplyPayment(&p, payments.PaymentEventCancel, now, payments.PaymentChange{CancelledBy: by, CancelledFrom: from})
	var ite *payments.IllegalTransitionError
	var pe *payments.PreconditionError
	switch {
	case errors.As(err, &ite):
		return payments.Payment{}, cancelNotAllowed(fmt.Sprintf("Pagamento não permite cancelamento (status %s).", before.Status))
	case errors.As(err, &pe):
		return payments.Payment{}, cancelNotAllowed("Pagamento não permite cancelamento: o prazo para cancelar o agendamento terminou às 23:59 (horário de Brasília) do dia anterior.")
	case err != nil:
		return payments.Payment{}, err
	}
	return s.savePayment(ctx, tx, before, p, payments.PaymentEventCancel, now, actor)
}

// CustomerPayment is a payment still to be made with the consent it was
// initiated under (its payee, its initiator).
type CustomerPayment struct {
	Payment payments.Payment
	Consent payments.Consent
}

// CustomerPayments lists the payments still to be made (SCHD, PDNG) under
// the consents customer authorised as the logged user, soonest first:
// what the holder's own channels show the customer, who may cancel them
// there (CancelForCustomer).
func (s *Store) CustomerPayments(ctx context.Context, customer payments.Document) ([]CustomerPayment, error) {
	ps, err := s.queryPayments(ctx, s.db, `SELECT `+paymentColumns+` FROM pix_payments
		WHERE status IN ('SCHD', 'PDNG') AND consent_id IN (SELECT id FROM payment_consents WHERE logged_user = ?)
		ORDER BY scheduled_date, creation_date_time, id`, encodeDoc(customer))
	if err != nil {
		return nil, fmt.Errorf("paymentsql: payments of a customer: %w", err)
	}
	consents := map[string]payments.Consent{}
	out := make([]CustomerPayment, 0, len(ps))
	for _, p := range ps {
		c, ok := consents[p.ConsentID]
		if !ok {
			if c, err = s.GetConsent(ctx, p.ConsentID); err != nil {
				return nil, err
			}
			consents[p.ConsentID] = c
		}
		out = append(out, CustomerPayment{Payment: p, Consent: c})
	}
	return out, nil
}

// CancelForCustomer cancels payment id at the holder's own channel on
// behalf of customer, the logged user of its consent (cancelledFrom
// DETENTORA, cancelledBy the customer; actor says who acted: the customer,
// or an operator with a reason); the initiator learns it from its
// webhook and its next read. A payment that is not the customer's is
// payments.ErrNotFound, exactly like one that does not exist; one that can
// no longer be cancelled is a *payments.RuleError
// PAGAMENTO_NAO_PERMITE_CANCELAMENTO.
func (s *Store) CancelForCustomer(ctx context.Context, id string, customer payments.Document, actor payments.Actor) (payments.Payment, error) {
	now := s.clock()
	var out payments.Payment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		before, err := s.lockPayment(ctx, tx, id)
		if err != nil {
			return err
		}
		c, err := scanConsent(tx.QueryRowContext(ctx, s.d.Q(`SELECT `+consentColumns+` FROM payment_consents WHERE id = ?`), before.ConsentID))
		if err != nil {
			return fmt.Errorf("paymentsql: consent of payment %s: %w", id, err)
		}
		if c.LoggedUser != customer {
			return fmt.Errorf("paymentsql: payment %s: %w", id, payments.ErrNotFound)
		}
		out, err = s.cancelLocked(ctx, tx, before, customer, payments.CancelledFromHolder, now, actor)
		return err
	})
	return out, err
}

// CancelConsentPayments is PATCH /pix/payments/consents/{consentId}: it
// cancels every payment of the consent that can still be cancelled (PDNG,
// SCHD before its day) and returns them. None left: *payments.RuleError
// PAGAMENTO_NAO_PERMITE_CANCELAMENTO. payments.ErrNotFound /
// ErrOtherClient for the consent. idem as in CreatePayments.
func (s *Store) CancelConsentPayments(ctx context.Context, consentID, clientID string, by payments.Document, from payments.CancelledFrom, idem *payments.IdempotencyRecord, actor payments.Actor) ([]payments.Payment, error) {
	now := s.clock()
	var out []payments.Payment
	err := s.inTxRule(ctx, func(tx *sql.Tx) error {
		if err := s.claimIdem(ctx, tx, idem, now); err != nil {
			return err
		}
		c, err := s.lockConsent(ctx, tx, consentID)
		if err != nil {
			return err
		}
		if c.ClientID != clientID {
			return fmt.Errorf("paymentsql: consent %s: %w", consentID, payments.ErrOtherClient)
		}
		// Rows are locked in id order, like RejectBatch, so the two never deadlock.
		ps, err := s.queryPayments(ctx, tx, `SELECT `+paymentColumns+` FROM pix_payments WHERE consent_id = ? AND status IN ('PDNG', 'SCHD')
			ORDER BY id`+s.d.ForUpdate, consentID)
		if err != nil {
			return err
		}
		var ids []string
		for _, before := range ps {
			if !payments.Cancellable(before, now) {
				continue
			}
			p := before
			if err := payments.ApplyPayment(&p, payments.PaymentEventCancel, now, payments.PaymentChange{CancelledBy: by, CancelledFrom: from}); err != nil {
				return err
			}
			if p, err = s.savePayment(ctx, tx, before, p, payments.PaymentEventCancel, now, actor); err != nil {
				return err
			}
			out = append(out, p)
			ids = append(ids, p.ID)
		}
		if len(out) == 0 {
			return s.finishIdemRule(ctx, tx, idem, cancelNotAllowed("Nenhum pagamento deste consentimento pode ser cancelado."))
		}
		return s.finishIdem(ctx, tx, idem, 200, ids)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RejectBatch rejects every payment of a POST /pix/payments batch that is
// not final yet with rej (FALHA_AGENDAMENTO_PAGAMENTOS when the batch could
// not be scheduled in time), in one transaction.
func (s *Store) RejectBatch(ctx context.Context, batchID string, rej payments.PaymentRejection, actor payments.Actor) ([]payments.Payment, error) {
	now := s.clock()
	var out []payments.Payment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ps, err := s.queryPayments(ctx, tx, `SELECT `+paymentColumns+` FROM pix_payments WHERE batch_id = ?
			AND status NOT IN ('ACSC', 'RJCT', 'CANC') ORDER BY id`+s.d.ForUpdate, batchID)
		if err != nil {
			return err
		}
		for _, before := range ps {
			p := before
			r := rej
			if err := payments.ApplyPayment(&p, payments.PaymentEventReject, now, payments.PaymentChange{Rejection: &r}); err != nil {
				return err
			}
			if p, err = s.savePayment(ctx, tx, before, p, payments.PaymentEventReject, now, actor); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// DuePayments lists the payments a processor must act on (see
// payments.ProcessorStore), oldest change first.
func (s *Store) DuePayments(ctx context.Context, q payments.DueQuery) ([]payments.Payment, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	return s.queryPayments(ctx, s.db, `SELECT `+paymentColumns+` FROM pix_payments WHERE
		status IN ('RCVD', 'ACCP')
		OR (status = 'SCHD' AND scheduled_date <= ?)
		OR (status = 'PDNG' AND status_update_date_time < ?)
		OR (status = 'ACPD' AND status_update_date_time < ?)
		ORDER BY status_update_date_time, id LIMIT ?`,
		q.Today.String(), s.d.Time(sqlstore.NormTime(q.HeldBefore)), s.d.Time(sqlstore.NormTime(q.SubmittedBefore)), q.Limit)
}

var _ payments.ProcessorStore = (*Store)(nil)
