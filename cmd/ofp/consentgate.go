package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
)

// consentGate is authz's view of the consent service (server.ConsentGate)
// over the consent store. It is the only place where the two meet.
type consentGate struct {
	store *consentsql.Store
	now   func() time.Time
	// resources resolves the resource ids a customer chose to their types
	// (Resources API); ids that are not the customer's are an error.
	resources func(ctx context.Context, customer server.Customer, ids []string) ([]consent.Resource, error)
}

var _ server.ConsentGate = consentGate{}

func (g consentGate) clock() time.Time {
	if g.now != nil {
		return g.now()
	}
	return time.Now()
}

func (g consentGate) get(ctx context.Context, consentID string) (consent.Consent, error) {
	c, err := g.store.Get(ctx, consentID)
	if errors.Is(err, consent.ErrNotFound) {
		return c, fmt.Errorf("%w: %s", server.ErrConsentNotFound, consentID)
	}
	if err != nil {
		return c, err
	}
	if c.Role != consent.RoleHolder {
		// Consents this institution obtained as receiver are not authorised here.
		return c, fmt.Errorf("%w: %s", server.ErrConsentNotFound, consentID)
	}
	return c, nil
}

func infoOf(c consent.Consent) server.ConsentInfo {
	info := server.ConsentInfo{
		ID: c.ID, ClientID: c.ClientID, Status: string(c.Status),
		Permissions:        append([]string(nil), c.Permissions...),
		LoggedUserDocument: c.LoggedUser.Document.Identification,
		LoggedUserRel:      c.LoggedUser.Document.Rel,
	}
	if c.BusinessEntity != nil {
		info.BusinessDocument = c.BusinessEntity.Document.Identification
		info.BusinessRel = c.BusinessEntity.Document.Rel
	}
	if c.ExpirationDateTime != nil {
		info.ExpiresAt = *c.ExpirationDateTime
	}
	return info
}

func (g consentGate) CheckPending(ctx context.Context, clientID, consentID string) (server.ConsentInfo, error) {
	c, err := g.get(ctx, consentID)
	if err != nil {
		return server.ConsentInfo{}, err
	}
	if c.ClientID != clientID {
		return server.ConsentInfo{}, fmt.Errorf("%w: %s", server.ErrConsentOtherClient, consentID)
	}
	if c.Status != consent.StatusAwaitingAuthorisation {
		return server.ConsentInfo{}, fmt.Errorf("%w: %s is %s", server.ErrConsentNotPending, consentID, c.Status)
	}
	if _, due := consent.Due(c, g.clock()); due {
		// Older than 60 minutes: the expiry job will reject it.
		return server.ConsentInfo{}, fmt.Errorf("%w: %s waited more than 60 minutes", server.ErrConsentNotPending, consentID)
	}
	return infoOf(c), nil
}

func (g consentGate) Authorise(ctx context.Context, consentID string, customer server.Customer, resourceIDs []string) error {
	c, err := g.get(ctx, consentID)
	if err != nil {
		return err
	}
	if err := server.MatchCustomer(infoOf(c), customer); err != nil {
		return err
	}
	var res []consent.Resource
	if len(resourceIDs) > 0 {
		if g.resources == nil {
			return errors.New("consent gate: no resource resolver configured")
		}
		if res, err = g.resources(ctx, customer, resourceIDs); err != nil {
			return err
		}
	}
	_, err = g.store.Authorise(ctx, consentID, res, consent.AuditActor{Who: "user:" + customer.Subject, ClientID: c.ClientID, Reason: "customer approved on the consent page"})
	var illegal *consent.IllegalTransitionError
	if errors.As(err, &illegal) {
		return fmt.Errorf("%w: %v", server.ErrConsentNotPending, err)
	}
	return err
}

func (g consentGate) Reject(ctx context.Context, consentID string, customer server.Customer) error {
	c, err := g.get(ctx, consentID)
	if err != nil {
		return err
	}
	_, err = g.store.ApplyEvent(ctx, consentID, consent.EventRejectByUser, consent.AuditActor{Who: "user:" + customer.Subject, ClientID: c.ClientID, Reason: "customer refused on the consent page"})
	var illegal *consent.IllegalTransitionError
	if errors.As(err, &illegal) {
		return fmt.Errorf("%w: %v", server.ErrConsentNotPending, err)
	}
	return err
}

func (g consentGate) Authorised(ctx context.Context, consentID string) (bool, error) {
	c, err := g.get(ctx, consentID)
	if errors.Is(err, server.ErrConsentNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// A consent past its expirationDateTime is not authorised even before
	// the expiry job has moved it.
	if _, due := consent.Due(c, g.clock()); due {
		return false, nil
	}
	return c.Status == consent.StatusAuthorised, nil
}
