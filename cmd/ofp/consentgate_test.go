package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ofp-dev/ofp/authz/server"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
)

func newGateFixture(t *testing.T) (consentGate, func(client, cpf string, role consent.Role) string) {
	t.Helper()
	ctx := context.Background()
	st, err := consentsql.OpenSQLite(ctx, filepath.Join(t.TempDir(), "consent.db"), consentsql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := consentGate{store: st, resources: func(_ context.Context, _ server.Customer, ids []string) ([]consent.Resource, error) {
		var out []consent.Resource
		for _, id := range ids {
			if id == "foreign" {
				return nil, errors.New("not the customer's resource")
			}
			out = append(out, consent.Resource{ID: id, Type: "ACCOUNT", Status: "AVAILABLE"})
		}
		return out, nil
	}}
	create := func(client, cpf string, role consent.Role) string {
		id, err := consent.NewID("ofp")
		if err != nil {
			t.Fatal(err)
		}
		c, err := consent.New(consent.Consent{
			ID: id, ClientID: client, Role: role, Counterparty: "Other Bank",
			Permissions: []string{"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "RESOURCES_READ"},
			LoggedUser:  consent.LoggedUser{Document: consent.Document{Identification: cpf, Rel: "CPF"}},
		}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Create(ctx, c, consent.AuditActor{Who: "tpp:" + client, ClientID: client}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	return g, create
}

func TestConsentGateFollowsTheConsentRules(t *testing.T) {
	ctx := context.Background()
	g, create := newGateFixture(t)
	id := create("client-a", "76109277673", consent.RoleHolder)
	owner := server.Customer{Subject: "sub-1", CPF: "76109277673"}

	if _, err := g.CheckPending(ctx, "client-b", id); !errors.Is(err, server.ErrConsentOtherClient) {
		t.Errorf("another client's consent: %v", err)
	}
	if _, err := g.CheckPending(ctx, "client-a", "urn:ofp:missing"); !errors.Is(err, server.ErrConsentNotFound) {
		t.Errorf("unknown consent: %v", err)
	}
	info, err := g.CheckPending(ctx, "client-a", id)
	if err != nil || info.LoggedUserDocument != "76109277673" || len(info.Permissions) != 3 {
		t.Fatalf("pending consent: %+v %v", info, err)
	}
	if err := g.Authorise(ctx, id, server.Customer{Subject: "sub-2", CPF: "11144477735"}, nil); !errors.Is(err, server.ErrCustomerMismatch) {
		t.Errorf("customer who is not the loggedUser: %v", err)
	}
	if err := g.Authorise(ctx, id, owner, []string{"acc-1", "foreign"}); err == nil {
		t.Error("a resource that is not the customer's was accepted")
	}
	if ok, _ := g.Authorised(ctx, id); ok {
		t.Error("consent authorised before the customer approved")
	}
	if err := g.Authorise(ctx, id, owner, []string{"acc-1"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := g.Authorised(ctx, id); !ok || err != nil {
		t.Errorf("approved consent not authorised: %v %v", ok, err)
	}
	res, err := g.store.Resources(ctx, id)
	if err != nil || len(res) != 1 || res[0].ID != "acc-1" {
		t.Errorf("chosen resources stored as %+v (%v)", res, err)
	}
	if err := g.Authorise(ctx, id, owner, nil); !errors.Is(err, server.ErrConsentNotPending) {
		t.Errorf("second approval: %v", err)
	}
	if _, err := g.CheckPending(ctx, "client-a", id); !errors.Is(err, server.ErrConsentNotPending) {
		t.Errorf("authorised consent still pending: %v", err)
	}
	if _, err := g.store.ApplyEvent(ctx, id, consent.EventRevokeByUser, consent.AuditActor{Who: "user:sub-1"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := g.Authorised(ctx, id); ok {
		t.Error("revoked consent still authorised")
	}

	refused := create("client-a", "76109277673", consent.RoleHolder)
	if err := g.Reject(ctx, refused, owner); err != nil {
		t.Fatal(err)
	}
	c, _ := g.store.Get(ctx, refused)
	if c.Status != consent.StatusRejected || c.Rejection == nil || c.Rejection.RejectedBy != consent.RejectedByUser {
		t.Errorf("refused consent: %+v", c)
	}

	received := create("client-a", "76109277673", consent.RoleReceiver)
	if _, err := g.CheckPending(ctx, "client-a", received); !errors.Is(err, server.ErrConsentNotFound) {
		t.Errorf("a consent obtained as receiver must not be authorisable here: %v", err)
	}
}

func TestConsentGateExpiredIsNotAuthorised(t *testing.T) {
	ctx := context.Background()
	g, create := newGateFixture(t)
	stale := create("client-a", "76109277673", consent.RoleHolder)
	g.now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	if _, err := g.CheckPending(ctx, "client-a", stale); !errors.Is(err, server.ErrConsentNotPending) {
		t.Errorf("consent awaiting for 61 minutes is still pending: %v", err)
	}
	g.now = nil
	id := create("client-a", "76109277673", consent.RoleHolder)
	if err := g.Authorise(ctx, id, server.Customer{Subject: "s", CPF: "76109277673"}, nil); err != nil {
		t.Fatal(err)
	}
	// 61 minutes later nothing changed for an open-ended consent; far later
	// either: only a consent with an expirationDateTime expires.
	g.now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	if ok, _ := g.Authorised(ctx, id); !ok {
		t.Error("open-ended authorised consent reported expired")
	}
}
