package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/jobs"
)

// ExpiryStore is what the Expirer needs from the consent store
// (*consentsql.Store satisfies it).
type ExpiryStore interface {
	ListDue(ctx context.Context, now time.Time, limit int) ([]consentsql.DueTransition, error)
	ApplyEvent(ctx context.Context, id string, ev consent.Event, actor consent.AuditActor) (consent.Consent, error)
}

// PurposeExpiryStore is what the Expirer needs to expire purpose (LGPD)
// consents too; a store that has it (*consentsql.Store does) gets both.
type PurposeExpiryStore interface {
	ListDuePurposes(ctx context.Context, now time.Time, limit int) ([]string, error)
	ExpirePurpose(ctx context.Context, id string, actor consent.AuditActor) (consent.PurposeConsent, error)
}

// TokenRevoker revokes the tokens of a consent (authz/server's
// RevokeConsentTokens satisfies it).
type TokenRevoker interface {
	RevokeConsentTokens(ctx context.Context, consentID string) error
}

// ExpiryActor is the audit actor (AuditActor.Who) of every transition the
// Expirer applies.
const ExpiryActor = "system:expiry"

var expiryActor = consent.AuditActor{Who: ExpiryActor, Reason: "scheduled expiry job"}

// ExpiryJobName is the job name Expirer.Register uses.
const ExpiryJobName = "consent-expiry"

// ExpirerOptions configures an Expirer. The zero value is usable.
type ExpirerOptions struct {
	// Now is the clock that decides what is due; default time.Now. The
	// store applies each transition at its own clock and re-checks it.
	Now func() time.Time
	// BatchSize is the ListDue limit; default 500.
	BatchSize int
	// Tokens, when set, revokes the tokens of every HOLDER consent the
	// Expirer rejects (a failure is logged: authz refuses tokens of a
	// consent that is not AUTHORISED anyway).
	Tokens TokenRevoker
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// ExpiryResult counts what one Expire call did.
type ExpiryResult struct {
	Applied         int // transitions this call wrote
	Skipped         int // due consents someone else moved or renewed first (not errors)
	PurposesExpired int // purpose consents moved to EXPIRED
}

// Expirer applies the due expiry transitions: AWAITING_AUTHORISATION →
// REJECTED (CONSENT_EXPIRED) after 60 minutes and AUTHORISED → REJECTED
// (CONSENT_MAX_DATE_REACHED) at expirationDateTime. Several replicas may run
// it at once: the store serialises each consent and the loser of a race
// gets an IllegalTransitionError, which is counted as skipped.
type Expirer struct {
	store  ExpiryStore
	now    func() time.Time
	batch  int
	tokens TokenRevoker
	log    *slog.Logger
}

// NewExpirer returns an Expirer over store.
func NewExpirer(store ExpiryStore, opts ExpirerOptions) *Expirer {
	e := &Expirer{store: store, now: opts.Now, batch: opts.BatchSize, tokens: opts.Tokens, log: opts.Logger}
	if e.now == nil {
		e.now = time.Now
	}
	if e.batch <= 0 {
		e.batch = 500
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	return e
}

// Run is the job function (jobs.Func): it applies every due transition.
func (e *Expirer) Run(ctx context.Context) error {
	res, err := e.Expire(ctx)
	e.log.Info("consent expiry run", "applied", res.Applied, "skipped", res.Skipped, "purposes_expired", res.PurposesExpired, "err", err)
	return err
}

// Register adds the expiry job to s under ExpiryJobName, e.g. with
// schedule "@every 1m" (the 60-minute authorisation window makes minutes
// the right grain).
func (e *Expirer) Register(s *jobs.Scheduler, schedule string) error {
	return s.Register(ExpiryJobName, schedule, e.Run)
}

// Expire lists due consents in batches and applies each. A store error on
// one consent does not stop the others; the errors are joined and returned.
func (e *Expirer) Expire(ctx context.Context) (ExpiryResult, error) {
	var (
		res  ExpiryResult
		errs []error
	)
	now := e.now()
	for {
		due, err := e.store.ListDue(ctx, now, e.batch)
		if err != nil {
			return res, fmt.Errorf("lifecycle: list due consents: %w", err)
		}
		applied := 0
		for _, d := range due {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			c, err := e.store.ApplyEvent(ctx, d.ConsentID, d.Event, expiryActor)
			switch {
			case err == nil:
				applied++
				e.revokeTokens(ctx, c)
			case lostRace(err):
				res.Skipped++
			default:
				errs = append(errs, fmt.Errorf("lifecycle: expire %s (%s): %w", d.ConsentID, d.Event, err))
			}
		}
		res.Applied += applied
		// A short batch is the last one; a full batch where nothing moved
		// would only list the same consents again.
		if len(due) < e.batch || applied == 0 {
			break
		}
	}
	if ps, ok := e.store.(PurposeExpiryStore); ok {
		n, err := e.expirePurposes(ctx, ps, now)
		res.PurposesExpired = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

func (e *Expirer) revokeTokens(ctx context.Context, c consent.Consent) {
	if e.tokens == nil || c.Role == consent.RoleReceiver || c.Status != consent.StatusRejected {
		return
	}
	if err := e.tokens.RevokeConsentTokens(ctx, c.ID); err != nil {
		e.log.Error("lifecycle: revoke tokens of an expired consent", "consent_id", c.ID, "err", err)
	}
}

// expirePurposes moves every ACTIVE purpose consent past its expiry to EXPIRED.
func (e *Expirer) expirePurposes(ctx context.Context, ps PurposeExpiryStore, now time.Time) (int, error) {
	var (
		n    int
		errs []error
	)
	for {
		due, err := ps.ListDuePurposes(ctx, now, e.batch)
		if err != nil {
			return n, fmt.Errorf("lifecycle: list due purpose consents: %w", err)
		}
		applied := 0
		for _, id := range due {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			_, err := ps.ExpirePurpose(ctx, id, expiryActor)
			var pte *consent.PurposeTransitionError
			switch {
			case err == nil:
				applied++
			case errors.As(err, &pte), lostRace(err):
			default:
				errs = append(errs, fmt.Errorf("lifecycle: expire purpose consent %s: %w", id, err))
			}
		}
		n += applied
		if len(due) < e.batch || applied == 0 {
			return n, errors.Join(errs...)
		}
	}
}

// lostRace reports errors that mean another writer moved the consent first.
func lostRace(err error) bool {
	var ite *consent.IllegalTransitionError
	var pe *consent.PreconditionError
	return errors.As(err, &ite) || errors.As(err, &pe) || errors.Is(err, consent.ErrNotFound) ||
		errors.Is(err, consent.ErrConcurrentUpdate)
}
