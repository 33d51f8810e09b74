// Package portaltest builds a complete consent portal for tests: a real
// consent store (SQLite or the test PostgreSQL), a real purposes registry,
// staff users with bcrypt hashes behind internal/rbac, a small customer
// authenticator, seeded consents of both roles with linked purpose
// consents, and an httptest server; WithPayments adds a real Pix payments
// store on the same database, seen through consent/portal/portalpay, with
// seeded scheduled payments. consent/portal's HTTP tests and the
// browser tests in consent/portal/browsertest share it. It is imported by
// tests only.
package portaltest

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/consent/portal"
	"github.com/ofp-dev/ofp/consent/portal/portalpay"
	"github.com/ofp-dev/ofp/consent/purposes"
	"github.com/ofp-dev/ofp/internal/rbac"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

// Customers is a CustomerAuthenticator over fixed document → password
// pairs, compared in constant time.
type Customers map[string]string

// AuthenticateCustomer implements portal.CustomerAuthenticator.
func (c Customers) AuthenticateCustomer(_ context.Context, document, password string) (string, error) {
	want, ok := c[document]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 {
		return "", portal.ErrBadCustomerCredentials
	}
	return document, nil
}

// Tokens records RevokeConsentTokens calls.
type Tokens struct {
	mu  sync.Mutex
	ids []string
}

// RevokeConsentTokens implements portal.TokenRevoker.
func (t *Tokens) RevokeConsentTokens(_ context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ids = append(t.ids, id)
	return nil
}

// IDs returns the consents whose tokens were revoked, in order.
func (t *Tokens) IDs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.ids...)
}

// Test identities. Staff passwords are "<username>-pw".
const (
	CustomerCPF      = "76109277673"
	CustomerPassword = "senha-do-cliente-1"
	OtherCPF         = "12345678909"
	OtherPassword    = "senha-do-outro-2"
	Viewer           = "vera"
	Operator         = "otto"
	Admin            = "ada"
)

// StaffPassword is the password of a staff user.
func StaffPassword(user string) string { return user + "-pw" }

// Clock is a settable clock.
type Clock struct{ ns atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Seeded are the IDs of the seeded consents of CustomerCPF.
type Seeded struct {
	// Held is AUTHORISED (HOLDER), shared with "Fintech Boa" (client-fintech),
	// with an account and a card, expiring in 180 days.
	Held string
	// HeldAwaiting is AWAITING_AUTHORISATION (HOLDER) for client-outra.
	HeldAwaiting string
	// Received is AUTHORISED (RECEIVER) from "Banco Distante S.A.".
	Received string
	// Marketing is an ACTIVE purpose consent (KEEP_LINKED, unlinked).
	Marketing string
	// PartnerAsk is an ACTIVE purpose consent for partner-1 linked to Held,
	// rule ASK_CUSTOMER.
	PartnerAsk string
	// AnalyticsRevoke is an ACTIVE purpose consent linked to Held, rule REVOKE_LINKED.
	AnalyticsRevoke string
	// Other is a HOLDER consent of OtherCPF.
	Other string
}

// Env is a running portal with seeded data.
type Env struct {
	Store    *consentsql.Store
	Purposes *purposes.Store
	Portal   *portal.Portal
	Server   *httptest.Server
	Tokens   *Tokens
	Clock    *Clock
	Seeded   Seeded
	// Payments and SeededPayments are set by WithPayments only.
	Payments       *paymentsql.Store
	SeededPayments SeededPayments
}

var (
	staffOnce sync.Once
	staffCfg  rbac.Config
)

func staffConfig(t testing.TB) rbac.Config {
	staffOnce.Do(func() {
		for _, u := range []struct {
			name string
			role rbac.Role
		}{{Viewer, rbac.RoleViewer}, {Operator, rbac.RoleOperator}, {Admin, rbac.RoleAdmin}} {
			h, err := bcrypt.GenerateFromPassword([]byte(StaffPassword(u.name)), rbac.MinBcryptCost)
			if err != nil {
				panic(err)
			}
			staffCfg.Users = append(staffCfg.Users, rbac.User{Username: u.name, PasswordHash: string(h), Roles: []rbac.Role{u.role}})
		}
	})
	return staffCfg
}

// New builds an Env on engine ("sqlite" or "postgres"); logs go to log
// (nil: discarded). Its portal shows no payments (WithPayments does).
func New(t testing.TB, engine string, log *slog.Logger) *Env {
	t.Helper()
	return build(t, engine, log, false)
}

func build(t testing.TB, engine string, log *slog.Logger, withPayments bool) *Env {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx := context.Background()
	clk := &Clock{}
	clk.ns.Store(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC).UnixNano())
	var (
		store    *consentsql.Store
		ps       *purposes.Store
		err      error
		location string // the DSN or the SQLite file
	)
	switch engine {
	case "postgres":
		location = sqltest.PostgresSchema(t, "portal_test")
		store, err = consentsql.OpenPostgres(ctx, location, consentsql.Options{Now: clk.Now, Logger: log})
		require.NoError(t, err)
		ps, err = purposes.OpenPostgres(ctx, location, purposes.Options{Now: clk.Now, Logger: log})
	default:
		location = filepath.Join(t.TempDir(), "ofp.db")
		store, err = consentsql.OpenSQLite(ctx, location, consentsql.Options{Now: clk.Now, Logger: log})
		require.NoError(t, err)
		ps, err = purposes.OpenSQLite(ctx, location, purposes.Options{Now: clk.Now, Logger: log})
	}
	require.NoError(t, err)
	t.Cleanup(func() { store.Close(); ps.Close() })
	var pays *paymentsql.Store
	var payView portal.Payments
	if withPayments {
		pays = openPayments(t, engine, location, clk, log)
		payView = portalpay.Payments{Store: pays, Names: ClientNames{PaymentInitiator: PaymentInitiatorName}}
	}

	auth, err := rbac.NewBasicAuthenticator(staffConfig(t))
	require.NoError(t, err)
	tokens := &Tokens{}
	p, err := portal.New(portal.Options{
		Store: store, Purposes: ps, Staff: auth, Tokens: tokens, Institution: "ofpbank",
		Customers:  Customers{CustomerCPF: CustomerPassword, OtherCPF: OtherPassword},
		SessionKey: []byte("0123456789abcdef0123456789abcdef-test-key"), InsecureCookies: true,
		Payments: payView, Now: clk.Now, Logger: log,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	e := &Env{Store: store, Purposes: ps, Portal: p, Server: srv, Tokens: tokens, Clock: clk, Payments: pays}
	e.seed(t)
	if withPayments {
		e.seedPayments(t)
	}
	return e
}

func intp(v int) *int { return &v }

func (e *Env) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, pur := range []purposes.Purpose{
		{ID: "marketing", Name: purposes.Text{PtBR: "Ofertas personalizadas", En: "Personalised offers"},
			Description:      purposes.Text{PtBR: "Usamos seus dados para oferecer produtos do seu perfil.", En: "We use your data to offer products that fit you."},
			PermissionGroups: []string{"Dados Cadastrais PF"}, DefaultDurationDays: intp(365), MaxDurationDays: intp(730),
			LegalBasis: purposes.LegalBasisConsentimento, RevocationRule: purposes.KeepLinked},
		{ID: "partner-sharing", Name: purposes.Text{PtBR: "Compartilhamento com parceiro", En: "Partner data sharing"},
			Description:      purposes.Text{PtBR: "Enviamos seus saldos ao parceiro para uma simulação de crédito.", En: "We send your balances to our partner for a credit simulation."},
			PermissionGroups: []string{"Contas - Saldos"}, LegalBasis: purposes.LegalBasisConsentimento, RevocationRule: purposes.AskCustomer},
		{ID: "analytics", Name: purposes.Text{PtBR: "Estudos internos", En: "Internal analytics"},
			Description:      purposes.Text{PtBR: "Usamos seus dados em estudos estatísticos internos.", En: "We use your data in internal statistical studies."},
			PermissionGroups: []string{"Contas - Saldos"}, LegalBasis: purposes.LegalBasisLegitimoInteresse, RevocationRule: purposes.RevokeLinked},
	} {
		_, err := e.Purposes.Create(ctx, pur)
		require.NoError(t, err)
	}
	perms := []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead}
	user := consent.LoggedUser{Document: consent.Document{Identification: CustomerCPF, Rel: "CPF"}}
	mk := func(c consent.Consent) consent.Consent {
		if c.ID == "" {
			c.ID, _ = consent.NewID("ofpbank")
		}
		got, err := e.Store.Create(ctx, c, consent.AuditActor{Who: "tpp:" + c.ClientID, ClientID: c.ClientID})
		require.NoError(t, err)
		return got
	}
	exp := e.Clock.Now().Add(180 * 24 * time.Hour)
	held := mk(consent.Consent{Permissions: perms, LoggedUser: user, ClientID: "client-fintech", Counterparty: "Fintech Boa", ExpirationDateTime: &exp})
	_, err := e.Store.Authorise(ctx, held.ID, []consent.Resource{
		{ID: "ag0001-cc12345", Type: "ACCOUNT", Status: "AVAILABLE"},
		{ID: "cartao-9876", Type: "CREDIT_CARD_ACCOUNT", Status: "AVAILABLE"},
	}, consent.AuditActor{Who: "user:" + CustomerCPF})
	require.NoError(t, err)
	awaiting := mk(consent.Consent{Permissions: perms, LoggedUser: user, ClientID: "client-outra", Counterparty: "Outra Receptora"})
	received := mk(consent.Consent{ID: "urn:bancodistante:7f1c2a", Permissions: perms, LoggedUser: user, ClientID: "ofp-at-distante",
		Role: consent.RoleReceiver, Counterparty: "Banco Distante S.A."})
	_, err = e.Store.ApplyEvent(ctx, received.ID, consent.EventAuthorise, consent.AuditActor{Who: "system:connector"})
	require.NoError(t, err)
	other := mk(consent.Consent{Permissions: perms, ClientID: "client-fintech",
		LoggedUser: consent.LoggedUser{Document: consent.Document{Identification: OtherCPF, Rel: "CPF"}}})

	cust := consent.Document{Identification: CustomerCPF, Rel: "CPF"}
	grant := func(purpose, partner, linked string) string {
		pc, err := e.Portal.GrantPurpose(ctx, portal.GrantRequest{PurposeID: purpose, Customer: cust, PartnerID: partner, LinkedConsentID: linked},
			consent.AuditActor{Who: "user:" + CustomerCPF})
		require.NoError(t, err)
		return pc.ID
	}
	e.Seeded = Seeded{Held: held.ID, HeldAwaiting: awaiting.ID, Received: received.ID, Other: other.ID,
		Marketing: grant("marketing", "", ""), PartnerAsk: grant("partner-sharing", "partner-1", held.ID),
		AnalyticsRevoke: grant("analytics", "", held.ID)}
}
