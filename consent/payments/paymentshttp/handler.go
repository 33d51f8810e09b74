package paymentshttp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/consent/payments/jwtbody"
	"github.com/ofp-dev/ofp/consent/payments/paymentsql"
	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/httpx"
)

// BasePath is where the Payments API 4.0.0 lives.
const BasePath = "/open-banking/payments/v4"

// APIVersion is answered in the x-v header.
const APIVersion = "4.0.0"

// Grant types a Caller may carry.
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
)

// Caller is who sent a request, as the authorization server established it
// (mTLS + certificate-bound access token, introspected in process).
type Caller struct {
	// ClientID is the OAuth client (the initiator's software).
	ClientID string
	// OrgID is the client's directory organisationId: the iss its signed
	// requests must carry and the aud of the holder's signed answers.
	OrgID string
	// ConsentID is the consent an authorization_code token is bound to
	// (its consent:<urn> scope); empty for client_credentials.
	ConsentID string
	// GrantType is GrantClientCredentials or GrantAuthorizationCode.
	GrantType string
	// Scopes granted to the token ("payments" is required).
	Scopes []string
	// SoftwareStatementID of the client, for the API-call record; optional.
	SoftwareStatementID string
}

// CallerFunc identifies the caller of r. The authz integration implements
// it over authz/server's Protect middleware (which answers 401/403 itself
// for a missing or bad token, a certificate mismatch, missing scopes, or a
// consent that authz's gate says is not usable) and TokenFrom(ctx). An
// error here is answered 401.
type CallerFunc func(r *http.Request) (Caller, error)

// Store is what the handlers need; *paymentsql.Store satisfies it.
type Store interface {
	CreateConsent(ctx context.Context, req payments.Consent, idem *payments.IdempotencyRecord, actor payments.Actor) (payments.Consent, error)
	ReadConsent(ctx context.Context, id, clientID string, actor payments.Actor) (payments.Consent, error)
	CreatePayments(ctx context.Context, consentID, clientID string, items []payments.Payment, idem *payments.IdempotencyRecord, actor payments.Actor) ([]payments.Payment, error)
	ReadPayment(ctx context.Context, id, clientID string) (payments.Payment, error)
	GetPayments(ctx context.Context, ids []string) ([]payments.Payment, error)
	CancelPayment(ctx context.Context, id, clientID string, by payments.Document, from payments.CancelledFrom, actor payments.Actor) (payments.Payment, error)
	CancelConsentPayments(ctx context.Context, consentID, clientID string, by payments.Document, from payments.CancelledFrom, idem *payments.IdempotencyRecord, actor payments.Actor) ([]payments.Payment, error)
	LookupIdempotency(ctx context.Context, key payments.IdempotencyKey) (payments.IdempotencyRecord, bool, error)
	RecordIdempotent(ctx context.Context, idem *payments.IdempotencyRecord) error
}

var _ Store = (*paymentsql.Store)(nil)

// Options configures the handler. Institution, PublicURL, Caller, Verifier
// and Signer are required.
type Options struct {
	// Institution is the URN namespace of consent IDs ("urn:<Institution>:pay-<uuid>").
	Institution string
	// PublicURL is the scheme and host the initiators call (e.g.
	// "https://api.bank.com.br"): request JWTs must carry aud =
	// PublicURL + the endpoint's path, and links use it.
	PublicURL string
	// Caller identifies the caller (see CallerFunc).
	Caller CallerFunc
	// Verifier checks signed requests (client keys from the directory,
	// jtis in the store).
	Verifier *jwtbody.Verifier
	// Signer signs every answer with the holder's key.
	Signer *jwtbody.Signer
	// PaymentsCreated, when set, is called after payments were stored
	// (wire the Processor's Kick so they are processed at once).
	PaymentsCreated func()
	// Now is the clock; use the store's. Default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Handler serves the Payments API 4.0.0.
type Handler struct {
	store Store
	opts  Options
	now   func() time.Time
	log   *slog.Logger
	base  string
}

// New returns the handler, or an error for a wiring mistake.
func New(store Store, opts Options) (*Handler, error) {
	if store == nil || opts.Caller == nil || opts.Verifier == nil || opts.Signer == nil {
		return nil, errors.New("paymentshttp: New needs a Store and Options.Caller, Verifier and Signer")
	}
	if _, err := payments.NewConsentID(opts.Institution); err != nil {
		return nil, fmt.Errorf("paymentshttp: Options.Institution: %w", err)
	}
	if !strings.HasPrefix(opts.PublicURL, "https://") {
		return nil, errors.New("paymentshttp: Options.PublicURL must be the https:// scheme and host initiators call")
	}
	if _, err := loadSchemas(); err != nil {
		return nil, err
	}
	h := &Handler{store: store, opts: opts, now: opts.Now, log: opts.Logger, base: strings.TrimRight(opts.PublicURL, "/")}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

// Error codes of the answers that are not 422 (those carry the spec's codes
// from package payments).
const (
	codeBadSignature     = "BAD_SIGNATURE"
	codeInvalidClient    = "INVALID_CLIENT"
	codeUnauthorized     = "UNAUTHORIZED"
	codeForbidden        = "ACESSO_NAO_PERMITIDO"
	codeNotFound         = "RECURSO_NAO_ENCONTRADO"
	codeMethodNotAllowed = httpx.CodeMethodNotAllowed
	codeNotAcceptable    = "NAO_ACEITO"
	codeUnsupportedMedia = "TIPO_MIDIA_NAO_SUPORTADO"
	codeInvalidParameter = "PARAMETRO_INVALIDO"
	codeMissingParameter = "PARAMETRO_NAO_INFORMADO"
	codeInternal         = "ERRO_INTERNO"
)

var (
	interactionIDPat = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	idemKeyPat       = regexp.MustCompile(`^\S(.{0,38}\S)?$`)
)

// request is the per-request state the handlers share.
type request struct {
	w             http.ResponseWriter
	r             *http.Request
	at            time.Time
	interactionID string
	caller        Caller
}

func (rq *request) actor() payments.Actor {
	return payments.Actor{Who: "tpp:" + rq.caller.ClientID, ClientID: rq.caller.ClientID, InteractionID: rq.interactionID}
}

// apiError is a JSON ResponseError answer (every status but 422).
type apiError struct {
	status              int
	code, title, detail string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{w: w, r: r, at: h.now().UTC()}
	w.Header().Set("x-v", APIVersion)
	id := r.Header.Get("x-fapi-interaction-id")
	if !interactionIDPat.MatchString(id) {
		rq.interactionID = uuid.NewString()
		w.Header().Set("x-fapi-interaction-id", rq.interactionID)
		detail := "x-fapi-interaction-id is required and must be a UUID (RFC 4122)"
		if id != "" {
			detail = "x-fapi-interaction-id is not a UUID (RFC 4122)"
		}
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Cabeçalho x-fapi-interaction-id inválido", detail})
		return
	}
	rq.interactionID = id
	w.Header().Set("x-fapi-interaction-id", id)

	rest, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok {
		h.fail(rq, notFound("no such endpoint"))
		return
	}
	call := apicalls.FromContext(r.Context())
	switch {
	case rest == "/consents":
		call.SetEndpoint(BasePath + "/consents")
		h.route(rq, map[string]func(*request){http.MethodPost: h.createConsent})
	case strings.HasPrefix(rest, "/consents/") && len(rest) > len("/consents/"):
		cid := rest[len("/consents/"):]
		call.SetEndpoint(BasePath + "/consents/{consentId}")
		call.Set("consentId", cid)
		h.route(rq, map[string]func(*request){http.MethodGet: func(rq *request) { h.getConsent(rq, cid) }})
	case rest == "/pix/payments":
		call.SetEndpoint(BasePath + "/pix/payments")
		h.route(rq, map[string]func(*request){http.MethodPost: h.createPayments})
	case strings.HasPrefix(rest, "/pix/payments/consents/") && len(rest) > len("/pix/payments/consents/"):
		cid := rest[len("/pix/payments/consents/"):]
		call.SetEndpoint(BasePath + "/pix/payments/consents/{consentId}")
		call.Set("consentId", cid)
		h.route(rq, map[string]func(*request){http.MethodPatch: func(rq *request) { h.cancelConsentPayments(rq, cid) }})
	case strings.HasPrefix(rest, "/pix/payments/") && len(rest) > len("/pix/payments/") && !strings.Contains(rest[len("/pix/payments/"):], "/"):
		pid := rest[len("/pix/payments/"):]
		call.SetEndpoint(BasePath + "/pix/payments/{paymentId}")
		h.route(rq, map[string]func(*request){
			http.MethodGet:   func(rq *request) { h.getPayment(rq, pid) },
			http.MethodPatch: func(rq *request) { h.cancelPayment(rq, pid) },
		})
	default:
		h.fail(rq, notFound("no such endpoint"))
	}
}

func (h *Handler) route(rq *request, methods map[string]func(*request)) {
	fn, ok := methods[rq.r.Method]
	if !ok {
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		rq.w.Header().Set("Allow", strings.Join(allow, ", "))
		h.fail(rq, apiError{http.StatusMethodNotAllowed, codeMethodNotAllowed, "Método não suportado",
			fmt.Sprintf("%s is not supported on this resource", rq.r.Method)})
		return
	}
	if !acceptsJWT(rq.r.Header.Values("Accept")) {
		h.fail(rq, apiError{http.StatusNotAcceptable, codeNotAcceptable, "Accept não suportado",
			"this API answers application/jwt"})
		return
	}
	caller, err := h.opts.Caller(rq.r)
	if err != nil {
		h.fail(rq, apiError{http.StatusUnauthorized, codeUnauthorized, "Não autorizado", "a valid access token is required"})
		return
	}
	if caller.ClientID == "" || caller.OrgID == "" {
		h.internal(rq, "caller without client or organisation id", errors.New("CallerFunc returned an incomplete Caller"))
		return
	}
	rq.caller = caller
	call := apicalls.FromContext(rq.r.Context())
	call.SetClient(caller.OrgID, caller.SoftwareStatementID)
	if caller.ConsentID != "" {
		call.Set("consentId", caller.ConsentID)
	}
	fn(rq)
}

// acceptsJWT: no Accept, */*, application/*, application/jwt or
// application/json (for the JSON error bodies) are fine.
func acceptsJWT(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case "*/*", "application/*", jwtbody.ContentType, "application/json":
				return true
			}
		}
	}
	return false
}

// needGrant answers 403 unless the caller's token is of grant type and
// carries the payments scope.
func (h *Handler) needGrant(rq *request, grant string) bool {
	if rq.caller.GrantType != grant {
		h.fail(rq, apiError{http.StatusForbidden, codeForbidden, "Tipo de token não permitido",
			"this endpoint requires a token obtained with grant_type " + grant})
		return false
	}
	if !slices.Contains(rq.caller.Scopes, "payments") {
		h.fail(rq, apiError{http.StatusForbidden, codeForbidden, "Escopo insuficiente", "the token lacks the payments scope"})
		return false
	}
	return true
}

// idemKey reads x-idempotency-key (400 when missing or malformed).
func (h *Handler) idemKey(rq *request) (string, bool) {
	k := rq.r.Header.Get("x-idempotency-key")
	if k == "" {
		h.fail(rq, apiError{http.StatusBadRequest, codeMissingParameter, "Cabeçalho x-idempotency-key ausente",
			"x-idempotency-key is required on this endpoint"})
		return "", false
	}
	if !idemKeyPat.MatchString(k) {
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Cabeçalho x-idempotency-key inválido",
			"x-idempotency-key must be 1 to 40 characters without leading or trailing spaces"})
		return "", false
	}
	return k, true
}

// signedBody checks Content-Type, reads the body and verifies the JWT
// (aud = the URL of this endpoint). It answers the failure itself.
func (h *Handler) signedBody(rq *request) (jwtbody.Claims, bool) {
	mt, _, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || mt != jwtbody.ContentType {
		h.fail(rq, apiError{http.StatusUnsupportedMediaType, codeUnsupportedMedia, "Tipo de mídia não suportado",
			"the body must be a signed JWT with Content-Type application/jwt"})
		return jwtbody.Claims{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, jwtbody.MaxBodyBytes+1))
	if err != nil {
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Requisição malformada", "the body could not be read or is too large"})
		return jwtbody.Claims{}, false
	}
	claims, err := h.opts.Verifier.Verify(rq.r.Context(), body, jwtbody.Expect{
		ClientID: rq.caller.ClientID, Issuer: rq.caller.OrgID, Audience: h.base + rq.r.URL.Path,
	})
	if err != nil {
		var je *jwtbody.Error
		if !errors.As(err, &je) {
			h.internal(rq, "verify signed body", err)
			return jwtbody.Claims{}, false
		}
		switch je.Kind {
		case jwtbody.KindBadSignature:
			h.fail(rq, apiError{http.StatusBadRequest, codeBadSignature, "Assinatura inválida", je.Detail})
		case jwtbody.KindInvalidClaims, jwtbody.KindReplayed:
			h.fail(rq, apiError{http.StatusForbidden, codeInvalidClient, "Claims da mensagem inválidas", je.Detail})
		default:
			h.internal(rq, "verify signed body", err)
		}
		return jwtbody.Claims{}, false
	}
	return claims, true
}

// hashData is the idempotency fingerprint of a request's data claim: the
// SHA-256 of its canonical JSON (keys sorted, no insignificant space), so
// re-encoding the same content does not count as a change.
func hashData(data json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// answer signs body for the caller (aud = its organisationId) and writes it.
func (h *Handler) answer(rq *request, status int, body any) {
	b, err := h.opts.Signer.Sign(rq.caller.OrgID, body)
	if err != nil {
		h.internal(rq, "sign answer", err)
		return
	}
	hd := rq.w.Header()
	hd.Set("Content-Type", jwtbody.ContentType)
	hd.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(status)
	_, _ = rq.w.Write(b)
}

// envelope builds data + links.self + meta for path.
func (h *Handler) envelope(rq *request, path string, data any) envelope {
	return envelope{Data: data, Links: linksSelf{Self: h.base + path}, Meta: meta{RequestDateTime: fmtTime(rq.at)}}
}

// rule answers a business-rule refusal: 422 with a signed ResponseError.
func (h *Handler) rule(rq *request, re *payments.RuleError) {
	title := payments.Title(re.Code)
	if title == "" {
		title = re.Code
	}
	h.answer(rq, http.StatusUnprocessableEntity, httpx.NewErrorResponse(http.StatusUnprocessableEntity, rq.at,
		httpx.ErrorDetail{Code: re.Code, Title: title, Detail: re.Detail}))
}

func notFound(detail string) apiError {
	return apiError{http.StatusNotFound, codeNotFound, "Recurso não encontrado", detail}
}

func (h *Handler) internal(rq *request, what string, err error) {
	h.log.ErrorContext(rq.r.Context(), "paymentshttp: "+what, "err", err, "interaction_id", rq.interactionID)
	h.fail(rq, apiError{http.StatusInternalServerError, codeInternal, "Erro interno", "the request could not be completed; retry later"})
}

func (h *Handler) fail(rq *request, e apiError) {
	httpx.WriteErrorAt(rq.w, e.status, rq.at, httpx.ErrorDetail{Code: e.code, Title: e.title, Detail: e.detail})
}

// storeErr maps the store's errors that are not rules: 404, 403, or 500.
func (h *Handler) storeErr(rq *request, what string, err error) {
	switch {
	case errors.Is(err, payments.ErrNotFound):
		h.fail(rq, notFound(what+" does not exist"))
	case errors.Is(err, payments.ErrOtherClient):
		h.fail(rq, apiError{http.StatusForbidden, codeForbidden, "Recurso de outro cliente", what + " was not created by the calling client"})
	default:
		if re, ok := payments.AsRuleError(err); ok {
			h.rule(rq, re)
			return
		}
		h.internal(rq, what, err)
	}
}
