package consenthttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/consentsql"
	"github.com/ofp-dev/ofp/internal/httpx"
)

// BasePath is where the Consents API 3.3.1 lives.
const BasePath = "/open-banking/consents/v3"

// APIVersion is answered in the x-v header of every response.
const APIVersion = "3.3.1"

// Store is what the handlers need from a consent store; *consentsql.Store
// satisfies it.
type Store interface {
	Create(ctx context.Context, c consent.Consent, actor consent.AuditActor) (consent.Consent, error)
	Get(ctx context.Context, id string) (consent.Consent, error)
	ApplyEvent(ctx context.Context, id string, ev consent.Event, actor consent.AuditActor) (consent.Consent, error)
	Extend(ctx context.Context, id string, ext consent.Extension, actor consent.AuditActor) (consent.Consent, consent.Extension, error)
	Extensions(ctx context.Context, id string) ([]consent.Extension, error)
}

var _ Store = (*consentsql.Store)(nil)

// ClientResolver names the OAuth client (the receiver) that sent r. Until the
// authz integration, it is trusted as is: no token, scope or mTLS check is
// made here. An error means the caller is not identified (HTTP 401).
type ClientResolver interface {
	ClientID(r *http.Request) (string, error)
}

// HeaderClientResolver reads the client id from a request header. It is for
// tests and local development only: anyone can set a header.
type HeaderClientResolver struct{ Header string }

// ClientID returns the header's value, or an error when it is empty.
func (h HeaderClientResolver) ClientID(r *http.Request) (string, error) {
	v := strings.TrimSpace(r.Header.Get(h.Header))
	if v == "" {
		return "", fmt.Errorf("consenthttp: header %s with the client id is missing", h.Header)
	}
	return v, nil
}

// TokenRevoker revokes every access and refresh token issued for a consent
// (authz/server's (*Server).RevokeConsentTokens satisfies it). The handler
// calls it after every transition to REJECTED it makes: DELETE, and an
// expiry applied when a consent is read.
type TokenRevoker interface {
	RevokeConsentTokens(ctx context.Context, consentID string) error
}

// Options configures the handler. Institution and Clients are required.
type Options struct {
	// Institution is the URN namespace of consent ids: "urn:<Institution>:<uuid>".
	Institution string
	// Clients identifies the calling receiver.
	Clients ClientResolver
	// OfferedProducts are the products this holder offers; permissions of
	// other products are dropped at creation. nil = every product.
	OfferedProducts []consent.Product
	// MaxExpiration, when > 0, caps a determined expirationDateTime at
	// request time + MaxExpiration on create and extend (the former 12-month
	// rule); 0 = no cap (Joint Resolution nº 7 removed it). Open-ended
	// consents are always allowed.
	MaxExpiration time.Duration
	// PublicURL is the scheme and host used in links (e.g.
	// "https://api.bank.com.br"); empty = derived from the request.
	PublicURL string
	// Tokens revokes the tokens of a consent the handler moved to REJECTED.
	// Optional (nil: nothing is revoked; only for tests and local runs).
	Tokens TokenRevoker
	// RevokeTimeout bounds one RevokeConsentTokens call; default 10 s.
	RevokeTimeout time.Duration
	// Now is the clock; use the store's clock. Default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Handler serves the Consents API 3.3.1.
type Handler struct {
	store   Store
	opts    Options
	offered []consent.Product
	now     func() time.Time
	log     *slog.Logger
}

// New returns the Consents API handler. It panics if opts lacks Clients or
// has an invalid Institution, which is a wiring mistake.
func New(store Store, opts Options) http.Handler {
	h, err := NewHandler(store, opts)
	if err != nil {
		panic(err)
	}
	return h
}

// NewHandler is New returning the error instead of panicking.
func NewHandler(store Store, opts Options) (*Handler, error) {
	if store == nil {
		return nil, errors.New("consenthttp: a Store is required")
	}
	if opts.Clients == nil {
		return nil, errors.New("consenthttp: Options.Clients is required (a ClientResolver)")
	}
	if _, err := consent.NewID(opts.Institution); err != nil {
		return nil, fmt.Errorf("consenthttp: Options.Institution: %w", err)
	}
	h := &Handler{store: store, opts: opts, offered: opts.OfferedProducts, now: opts.Now, log: opts.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.opts.RevokeTimeout <= 0 {
		h.opts.RevokeTimeout = 10 * time.Second
	}
	return h, nil
}

// revokeTokens asks Options.Tokens to revoke the tokens of a consent that
// has just been moved to REJECTED. It runs even when the client has gone
// (the consent is rejected whatever happens to the response). A failure is
// logged, not answered: the consent is REJECTED already, and authz refuses
// the tokens of a consent that is not AUTHORISED (ConsentGate.Authorised)
// on every call, so a token left behind grants nothing.
func (h *Handler) revokeTokens(rq *request, consentID string) {
	if h.opts.Tokens == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rq.r.Context()), h.opts.RevokeTimeout)
	defer cancel()
	if err := h.opts.Tokens.RevokeConsentTokens(ctx, consentID); err != nil {
		h.log.ErrorContext(ctx, "consenthttp: revoke tokens of a rejected consent", "consent_id", consentID,
			"interaction_id", rq.interactionID, "err", err)
	}
}

// Error codes of the ResponseError bodies.
const (
	codeInvalidParameter    = "PARAMETRO_INVALIDO"
	codeMissingParameter    = "PARAMETRO_NAO_INFORMADO"
	codeUnauthorized        = "NAO_INFORMADO"
	codeForbidden           = "ACESSO_NAO_PERMITIDO"
	codeNotFound            = "RECURSO_NAO_ENCONTRADO"
	codeMethodNotAllowed    = httpx.CodeMethodNotAllowed
	codeNotAcceptable       = "NAO_ACEITO"
	codeUnsupportedMedia    = "TIPO_MIDIA_NAO_SUPORTADO"
	codeInternal            = "ERRO_INTERNO"
	codeNoFunctional        = "SEM_PERMISSOES_FUNCIONAIS_RESTANTES"
	codePJInfoMissing       = "INFORMACOES_PJ_NAO_INFORMADAS"
	codePJPermissions       = "PERMISSOES_PJ_INCORRETAS"
	codePFPJTogether        = "PERMISSAO_PF_PJ_EM_CONJUNTO"
	codeBadCombination      = "COMBINACAO_PERMISSOES_INCORRETA"
	codeInvalidExpiration   = "DATA_EXPIRACAO_INVALIDA"
	codeAlreadyRejected     = "CONSENTIMENTO_EM_STATUS_REJEITADO"
	codeInvalidConsentState = "ESTADO_CONSENTIMENTO_INVALIDO"
)

// request is the per-request context the handlers share.
type request struct {
	w             http.ResponseWriter
	r             *http.Request
	interactionID string
	at            time.Time
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{w: w, r: r, at: h.now().UTC()}
	w.Header().Set("x-v", APIVersion)
	id := r.Header.Get("x-fapi-interaction-id")
	if !interactionIDPat.MatchString(id) {
		rq.interactionID = uuid.NewString()
		w.Header().Set("x-fapi-interaction-id", rq.interactionID)
		msg := "x-fapi-interaction-id is required and must be a UUID (RFC 4122)"
		if id != "" {
			msg = "x-fapi-interaction-id is not a UUID (RFC 4122)"
		}
		h.fail(rq, &apiError{Status: http.StatusBadRequest, Code: codeInvalidParameter, Title: "Cabeçalho x-fapi-interaction-id inválido", Detail: msg})
		return
	}
	rq.interactionID = id
	w.Header().Set("x-fapi-interaction-id", id)

	rest, ok := strings.CutPrefix(r.URL.Path, BasePath+"/consents")
	if !ok {
		h.fail(rq, notFound("no such endpoint"))
		return
	}
	switch {
	case rest == "":
		h.route(rq, map[string]func(*request){http.MethodPost: h.create})
	case strings.HasSuffix(rest, "/extends") && len(rest) > len("/extends")+1:
		cid := strings.TrimSuffix(rest[1:], "/extends")
		h.route(rq, map[string]func(*request){http.MethodPost: func(rq *request) { h.extend(rq, cid) }})
	case strings.HasSuffix(rest, "/extensions") && len(rest) > len("/extensions")+1:
		cid := strings.TrimSuffix(rest[1:], "/extensions")
		h.route(rq, map[string]func(*request){http.MethodGet: func(rq *request) { h.extensions(rq, cid) }})
	case strings.HasPrefix(rest, "/") && len(rest) > 1:
		cid := rest[1:]
		h.route(rq, map[string]func(*request){
			http.MethodGet:    func(rq *request) { h.get(rq, cid) },
			http.MethodDelete: func(rq *request) { h.delete(rq, cid) },
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
		h.fail(rq, &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed, Title: "Método não suportado",
			Detail: fmt.Sprintf("%s is not supported on this resource", rq.r.Method)})
		return
	}
	if !acceptsJSON(rq.r.Header.Values("Accept")) {
		h.fail(rq, &apiError{Status: http.StatusNotAcceptable, Code: codeNotAcceptable, Title: "Accept não suportado",
			Detail: "this API answers application/json; charset=utf-8"})
		return
	}
	fn(rq)
}

// acceptsJSON reports whether the Accept header allows application/json.
func acceptsJSON(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
				continue
			}
			if mt == "application/json" || mt == "application/*" || mt == "*/*" {
				return true
			}
		}
	}
	return false
}

// caller resolves the client, answering 401 when it cannot.
func (h *Handler) caller(rq *request) (string, bool) {
	cid, err := h.opts.Clients.ClientID(rq.r)
	if err != nil || cid == "" {
		h.fail(rq, &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized, Title: "Cliente não identificado",
			Detail: "the calling client could not be identified"})
		return "", false
	}
	return cid, true
}

// readJSONBody checks the Content-Type and reads a bounded body.
func (h *Handler) readJSONBody(rq *request) ([]byte, bool) {
	mt, params, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		h.fail(rq, &apiError{Status: http.StatusUnsupportedMediaType, Code: codeUnsupportedMedia, Title: "Content-Type não suportado",
			Detail: "send the body as application/json (charset utf-8)"})
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		detail := "the request body could not be read"
		if errors.As(err, &tooBig) {
			detail = fmt.Sprintf("the request body is larger than %d bytes", maxBodyBytes)
		}
		h.fail(rq, badRequest(detail))
		return nil, false
	}
	return body, true
}

// load reads consent id for client clientID: 400 for a malformed id, 404
// when it does not exist, 403 when it belongs to another client. A consent
// whose expiry is due (AWAITING_AUTHORISATION past 60 minutes, AUTHORISED
// past expirationDateTime) is moved to REJECTED first, so every answer shows
// the status the spec requires.
func (h *Handler) load(rq *request, id, clientID string) (consent.Consent, bool) {
	if len(id) < 6 || !consent.ValidID(id) {
		h.fail(rq, badRequest("consentId must be a URN like urn:bank:C1DD33123"))
		return consent.Consent{}, false
	}
	ctx := rq.r.Context()
	c, err := h.store.Get(ctx, id)
	if errors.Is(err, consent.ErrNotFound) || (err == nil && c.Role == consent.RoleReceiver) {
		// Consents obtained as receiver from other holders are not served here.
		h.fail(rq, notFound("consent "+id+" does not exist"))
		return consent.Consent{}, false
	}
	if err != nil {
		h.internal(rq, "read consent", err)
		return consent.Consent{}, false
	}
	if c.ClientID != clientID {
		h.fail(rq, &apiError{Status: http.StatusForbidden, Code: codeForbidden, Title: "Consentimento de outro cliente",
			Detail: "this consent was not created by the calling client"})
		return consent.Consent{}, false
	}
	if ev, due := consent.Due(c, rq.at); due {
		moved, err := h.store.ApplyEvent(ctx, id, ev, consent.AuditActor{
			Who: "system:expiry-on-read", ClientID: clientID, InteractionID: rq.interactionID,
			Reason: "expiry applied when the consent was read through the API",
		})
		var illegal *consent.IllegalTransitionError
		var pre *consent.PreconditionError
		switch {
		case err == nil:
			c = moved
			if c.Status == consent.StatusRejected {
				h.revokeTokens(rq, c.ID)
			}
		case errors.As(err, &illegal), errors.As(err, &pre):
			// Someone else moved it, or the store's clock disagrees: show what is stored.
			if c, err = h.store.Get(ctx, id); err != nil {
				h.internal(rq, "re-read consent", err)
				return consent.Consent{}, false
			}
		default:
			h.internal(rq, "expire consent", err)
			return consent.Consent{}, false
		}
	}
	return c, true
}

func (h *Handler) selfURL(rq *request, path string) string {
	return h.baseURL(rq) + path
}

func (h *Handler) baseURL(rq *request) string {
	if h.opts.PublicURL != "" {
		return strings.TrimRight(h.opts.PublicURL, "/")
	}
	scheme := "https"
	if rq.r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + rq.r.Host
}

func consentPath(id string) string {
	return BasePath + "/consents/" + (&url.URL{Path: id}).EscapedPath()
}

func badRequest(detail string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalidParameter, Title: "Requisição malformada", Detail: detail}
}

func notFound(detail string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Title: "Recurso não encontrado", Detail: detail}
}

func unprocessable(code, title, detail string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: code, Title: title, Detail: detail}
}

func (h *Handler) internal(rq *request, what string, err error) {
	h.log.ErrorContext(rq.r.Context(), "consenthttp: "+what, "err", err, "interaction_id", rq.interactionID)
	h.fail(rq, &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Title: "Erro interno",
		Detail: "the request could not be completed; retry later"})
}

func (h *Handler) fail(rq *request, e *apiError) {
	httpx.WriteErrorAt(rq.w, e.Status, rq.at, httpx.ErrorDetail{Code: e.Code, Title: e.Title, Detail: e.Detail})
}

func (h *Handler) writeJSON(rq *request, status int, v any) {
	if err := httpx.WriteJSON(rq.w, status, v); err != nil {
		h.log.ErrorContext(rq.r.Context(), "consenthttp: encode response", "err", err)
		httpx.WriteErrorAt(rq.w, http.StatusInternalServerError, rq.at,
			httpx.ErrorDetail{Code: codeInternal, Title: "Erro interno", Detail: "the response could not be encoded"})
	}
}
