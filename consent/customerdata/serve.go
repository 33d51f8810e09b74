package customerdata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/httpx"
)

// Error codes. The specs list status codes only; the codes of 403 answers
// about resources are those of the Open Finance guidance pages
// "Orientações - [DC] Contas" (Confluence 193658890) and "[DC] Cartão de
// Crédito" (157417473): RESOURCE_FORBIDDEN for an id the consent does not
// share, STATUS_RESOURCE_* for a shared resource that is not AVAILABLE.
// The accounts page spells one STATUS_RESOURCE_TEMPORARY_UNAVAILABLE; we
// follow the cards and customers pages and the Resources enum
// (TEMPORARILY). The rest are the upper-snake status texts, as
// authz/server's Protect answers them.
const (
	CodeBadRequest                = "BAD_REQUEST"
	CodeUnauthorized              = "UNAUTHORIZED"
	CodeForbidden                 = "FORBIDDEN"
	CodeResourceForbidden         = "RESOURCE_FORBIDDEN"
	CodeResourcePending           = "STATUS_RESOURCE_PENDING_AUTHORISATION"
	CodeResourceUnavailable       = "STATUS_RESOURCE_UNAVAILABLE"
	CodeResourceTemporarilyUnavai = "STATUS_RESOURCE_TEMPORARILY_UNAVAILABLE"
	CodeNotFound                  = "NOT_FOUND"
	CodeMethodNotAllowed          = "METHOD_NOT_ALLOWED"
	CodeNotAcceptable             = "NOT_ACCEPTABLE"
	CodeUnprocessable             = "UNPROCESSABLE_ENTITY"
	CodeTooManyRequests           = "TOO_MANY_REQUESTS"
	CodeInternal                  = "INTERNAL_SERVER_ERROR"
)

// metaKind is the shape of ResponseError.meta an endpoint's spec wants.
type metaKind int

const (
	// metaDate: meta {requestDateTime} (ResponseErrorMetaSingle, customers'
	// and resources' Meta).
	metaDate metaKind = iota
	// metaPaged: meta {totalRecords, totalPages, requestDateTime}: the
	// ResponseError of accounts and credit cards, whose Meta requires the
	// totals even on errors.
	metaPaged
)

// endpoint is one route of an API.
type endpoint struct {
	path  string // relative to the API's base path, with {wildcards}
	perm  string // consent permission
	meta  metaKind
	serve func(*request)
}

// service is what the APIs share: options and the request pipeline.
type service struct {
	base, version, scope string
	// baseMeta is the error meta of answers outside any endpoint (404).
	baseMeta metaKind
	opts     Options
	keys     pageKeys
	log      *slog.Logger
}

func newService(base, version, scope string, baseMeta metaKind, opts Options) (*service, error) {
	opts, err := opts.validate()
	if err != nil {
		return nil, err
	}
	return &service{base: base, version: version, scope: scope, baseMeta: baseMeta, opts: opts, log: opts.Logger,
		keys: pageKeys{secret: opts.PaginationKeySecret, ttl: opts.PaginationKeyTTL}}, nil
}

// request is one call being served.
type request struct {
	s             *service
	w             http.ResponseWriter
	r             *http.Request
	at            time.Time // requestDateTime, UTC, whole seconds
	interactionID string
	meta          metaKind
	call          *apicalls.Call
	id            Identity
	c             consent.Consent
	owner         corebank.Owner
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// mount registers eps under the service's base path on mux and returns
// their routes. Every path also answers other methods with 405 and the
// base path's unknown paths with 404, in the spec's error shape.
func (s *service) mount(mux *http.ServeMux, eps []endpoint) []Route {
	req := TokenRequirement(s.scope)
	for _, ep := range eps {
		pattern := s.base + ep.path
		mux.Handle(http.MethodGet+" "+pattern, s.route(ep, req))
		mux.Handle(pattern, s.plain(ep.meta, func(rq *request) {
			rq.w.Header().Set("Allow", "GET")
			rq.fail(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Método não suportado", rq.r.Method+" is not supported on this resource; use GET")
		}))
	}
	mux.Handle(s.base+"/", s.plain(s.baseMeta, func(rq *request) {
		rq.fail(http.StatusNotFound, CodeNotFound, "Recurso não encontrado", "no such endpoint in this API")
	}))
	return routesOf(s.base, s.scope, eps)
}

// routesOf lists eps as routes of the API at base with scope.
func routesOf(base, scope string, eps []endpoint) []Route {
	routes := make([]Route, 0, len(eps))
	for _, ep := range eps {
		routes = append(routes, Route{Method: http.MethodGet, Pattern: base + ep.path, Requirement: TokenRequirement(scope), Permission: ep.perm})
	}
	return routes
}

var errNoCore = errors.New("customerdata: a core banking port is required")

// route builds the handler of one endpoint: record the templated endpoint,
// x-v, then the guard (if any), then the checks and the endpoint.
func (s *service) route(ep endpoint, req Requirement) http.Handler {
	var inner http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := s.newRequest(w, r, ep.meta)
		if !rq.begin(ep.perm) {
			return
		}
		ep.serve(rq)
	})
	if s.opts.Guard != nil {
		inner = s.opts.Guard(req)(inner)
		if ep.meta == metaPaged {
			inner = pagedErrorMeta(inner)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apicalls.FromContext(r.Context()).SetEndpoint(apicalls.TemplateOf(r.Pattern))
		w.Header().Set("x-v", s.version)
		inner.ServeHTTP(w, r)
	})
}

// plain serves an answer that needs no consent (404, 405), with the
// interaction-id handling of every answer.
func (s *service) plain(meta metaKind, fn func(*request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apicalls.FromContext(r.Context()).SetEndpoint(apicalls.TemplateOf(r.Pattern))
		w.Header().Set("x-v", s.version)
		rq := s.newRequest(w, r, meta)
		if !rq.interaction() {
			return
		}
		fn(rq)
	})
}

func (s *service) newRequest(w http.ResponseWriter, r *http.Request, meta metaKind) *request {
	return &request{s: s, w: w, r: r, at: s.opts.Now().UTC().Truncate(time.Second), meta: meta,
		call: apicalls.FromContext(r.Context())}
}

// interaction echoes a valid x-fapi-interaction-id, or generates one and
// answers 400 (the specs' rule for a missing or invalid one).
func (rq *request) interaction() bool {
	id := rq.r.Header.Get("x-fapi-interaction-id")
	if validUUID(id) {
		rq.interactionID = id
		rq.w.Header().Set("x-fapi-interaction-id", id)
		return true
	}
	rq.interactionID = uuid.NewString()
	rq.w.Header().Set("x-fapi-interaction-id", rq.interactionID)
	detail := "x-fapi-interaction-id is required and must be a UUID (RFC 4122)"
	if id != "" {
		detail = "x-fapi-interaction-id is not a UUID (RFC 4122)"
	}
	rq.fail(http.StatusBadRequest, CodeBadRequest, "Cabeçalho x-fapi-interaction-id inválido", detail)
	return false
}

// begin runs the checks every endpoint shares, in this order: interaction
// id (400), Accept (406), caller (401), rate limit (429), consent exists,
// belongs to the caller and is AUTHORISED now (401), consent grants perm
// (403). Resource checks follow in the endpoint.
func (rq *request) begin(perm string) bool {
	if !rq.interaction() {
		return false
	}
	if !acceptsJSON(rq.r.Header.Values("Accept")) {
		rq.fail(http.StatusNotAcceptable, CodeNotAcceptable, "Accept não suportado", "this API answers application/json")
		return false
	}
	id, err := rq.s.opts.Caller(rq.r)
	if err != nil || id.ClientID == "" || id.ConsentID == "" {
		rq.fail(http.StatusUnauthorized, CodeUnauthorized, "Não autorizado", "the access token does not name a client and a consent")
		return false
	}
	rq.id = id
	if id.OrgID != "" {
		rq.call.SetClient(id.OrgID, id.SoftwareStatementID)
	}
	rq.call.Set("consentId", id.ConsentID)
	if l := rq.s.opts.Limiter; l != nil {
		if ok, wait := l.Allow(rq.ctx(), id.ClientID); !ok {
			secs := int((wait + time.Second - 1) / time.Second)
			rq.w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			rq.fail(http.StatusTooManyRequests, CodeTooManyRequests, "Muitas requisições", "the call limit of this client was reached; retry after the time in Retry-After")
			return false
		}
	}
	c, err := rq.s.opts.Consents.Get(rq.ctx(), id.ConsentID)
	switch {
	case errors.Is(err, consent.ErrNotFound):
		rq.fail(http.StatusUnauthorized, CodeUnauthorized, "Consentimento inválido", "the consent of the access token does not exist")
		return false
	case err != nil:
		rq.internal("read consent", err)
		return false
	}
	if c.Role != consent.RoleHolder || c.ClientID != id.ClientID {
		rq.fail(http.StatusUnauthorized, CodeUnauthorized, "Consentimento inválido", "the consent of the access token was not given to this client")
		return false
	}
	rq.c = c
	rq.owner = corebank.Owner{CPF: c.LoggedUser.Document.Identification}
	personType := "PF"
	if c.BusinessEntity != nil {
		rq.owner.CNPJ = c.BusinessEntity.Document.Identification
		personType = "PJ"
	}
	rq.call.Set("personType", personType)
	if _, due := consent.Due(c, rq.at); c.Status != consent.StatusAuthorised || due {
		rq.fail(http.StatusUnauthorized, CodeUnauthorized, "Consentimento não autorizado",
			"the consent is not AUTHORISED (it is awaiting authorisation, rejected, revoked or expired)")
		return false
	}
	if !slices.Contains(c.Permissions, perm) {
		rq.fail(http.StatusForbidden, CodeForbidden, "Permissão ausente no consentimento", "the consent does not grant the permission "+perm+" this endpoint needs")
		return false
	}
	return true
}

// resource checks that id is a resource of type typ the customer shared
// under the consent and that it is AVAILABLE: 400 for a malformed id, 403
// RESOURCE_FORBIDDEN when the consent does not share it, 403
// STATUS_RESOURCE_* when it is shared but not available.
func (rq *request) resource(id, typ string) bool {
	if !validResourceID(id) {
		rq.fail(http.StatusBadRequest, CodeBadRequest, "Identificador inválido", "the resource id must match ^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$")
		return false
	}
	rs, err := rq.s.opts.Consents.Resources(rq.ctx(), rq.c.ID)
	if err != nil {
		rq.internal("read consent resources", err)
		return false
	}
	for _, r := range rs {
		if r.ID != id || r.Type != typ {
			continue
		}
		switch r.Status {
		case "AVAILABLE":
			return true
		case "PENDING_AUTHORISATION":
			rq.fail(http.StatusForbidden, CodeResourcePending, "Aguardando autorização de múltiplas alçadas", "the resource awaits the authorisation of other holders")
		case "TEMPORARILY_UNAVAILABLE":
			rq.fail(http.StatusForbidden, CodeResourceTemporarilyUnavai, "Recurso temporariamente indisponível", "the resource is temporarily unavailable")
		default:
			rq.fail(http.StatusForbidden, CodeResourceUnavailable, "Recurso indisponível", "the resource is no longer available")
		}
		return false
	}
	rq.fail(http.StatusForbidden, CodeResourceForbidden, "Recurso não compartilhado", "the consent does not share this resource")
	return false
}

// shared returns the ids of the AVAILABLE resources of type typ the consent
// shares (what lists show).
func (rq *request) shared(typ string) (map[string]bool, bool) {
	rs, err := rq.s.opts.Consents.Resources(rq.ctx(), rq.c.ID)
	if err != nil {
		rq.internal("read consent resources", err)
		return nil, false
	}
	ids := make(map[string]bool, len(rs))
	for _, r := range rs {
		if r.Type == typ && r.Status == "AVAILABLE" {
			ids[r.ID] = true
		}
	}
	return ids, true
}

// coreError answers a failure of the core banking port.
func (rq *request) coreError(what string, err error) {
	switch {
	case errors.Is(err, corebank.ErrResourceNotFound):
		// The consent shares it but the customer no longer holds it
		// (closed, migrated): the guidance's UNAVAILABLE case.
		rq.fail(http.StatusForbidden, CodeResourceUnavailable, "Recurso indisponível", "the resource is no longer available")
	case errors.Is(err, corebank.ErrCustomerNotFound), errors.Is(err, corebank.ErrNotRepresentative):
		rq.fail(http.StatusNotFound, CodeNotFound, "Cliente não encontrado", "the customer of this consent is not known to the institution")
	case errors.Is(err, corebank.ErrWrongPersonType):
		rq.fail(http.StatusForbidden, CodeForbidden, "Tipo de cliente incompatível", "this endpoint serves the other kind of customer (PF or PJ)")
	case errors.Is(err, corebank.ErrBadQuery):
		rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Consulta inválida", "the filters cannot be answered")
	case errors.Is(err, context.Canceled) && rq.ctx().Err() != nil:
		// The client went away; nobody reads the answer.
		rq.fail(http.StatusInternalServerError, CodeInternal, "Erro interno", "the request was cancelled")
	default:
		rq.internal(what, err)
	}
}

func (rq *request) internal(what string, err error) {
	rq.s.log.ErrorContext(rq.ctx(), "customerdata: "+what, "api", rq.s.base, "interaction_id", rq.interactionID, "err", err)
	rq.fail(http.StatusInternalServerError, CodeInternal, "Erro interno", "the request could not be completed; retry later")
}

// pagedMeta is Meta (accounts, cards, resources): totals and time.
type pagedMeta struct {
	TotalRecords    int    `json:"totalRecords"`
	TotalPages      int    `json:"totalPages"`
	RequestDateTime string `json:"requestDateTime"`
}

// dateMeta is MetaOnlyRequestDateTime (and customers' Meta).
type dateMeta struct {
	RequestDateTime string `json:"requestDateTime"`
}

type pagedError struct {
	Errors []httpx.ErrorDetail `json:"errors"`
	Meta   pagedMeta           `json:"meta"`
}

// fail answers an error in the endpoint's ResponseError shape.
func (rq *request) fail(status int, code, title, detail string) {
	body := httpx.NewErrorResponse(status, rq.at, httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
	h := rq.w.Header()
	h.Set("Cache-Control", "no-store")
	if rq.meta == metaPaged {
		_ = httpx.WriteJSON(rq.w, status, pagedError{Errors: body.Errors,
			Meta: pagedMeta{TotalRecords: 1, TotalPages: 1, RequestDateTime: body.Meta.RequestDateTime}})
		return
	}
	_ = httpx.WriteJSON(rq.w, status, body)
}

// ok answers 200 with body.
func (rq *request) ok(body any) {
	if err := httpx.WriteJSON(rq.w, http.StatusOK, body); err != nil {
		rq.internal("encode response", err)
	}
}

func (rq *request) requestDateTime() string { return httpx.FormatTime(rq.at) }

// validUUID reports whether s is a UUID in the 8-4-4-4-12 hex form the
// specs' x-fapi-interaction-id pattern allows.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// validResourceID reports whether s matches ^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$
// (accountId, creditCardAccountId, billId).
func validResourceID(s string) bool {
	if len(s) == 0 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || c != '-') {
			return false
		}
	}
	return true
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

// pagedErrorMeta rewrites the error answers of the layers in front of an
// endpoint (the token guard writes ResponseError with meta
// {requestDateTime}) into the shape accounts and credit cards require,
// whose Meta also needs totalRecords and totalPages. Successful answers
// pass through untouched; an error body already in shape is kept as is.
func pagedErrorMeta(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ew := &errorMetaWriter{ResponseWriter: w}
		next.ServeHTTP(ew, r)
		ew.finish()
	})
}

type errorMetaWriter struct {
	http.ResponseWriter
	status    int
	buffering bool
	buf       bytes.Buffer
}

func (e *errorMetaWriter) WriteHeader(status int) {
	if e.status != 0 {
		return
	}
	e.status = status
	if status >= 400 {
		e.buffering = true
		return
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *errorMetaWriter) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.WriteHeader(http.StatusOK)
	}
	if e.buffering {
		return e.buf.Write(b)
	}
	return e.ResponseWriter.Write(b)
}

func (e *errorMetaWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

func (e *errorMetaWriter) finish() {
	if !e.buffering {
		return
	}
	out := e.buf.Bytes()
	var body struct {
		Errors []httpx.ErrorDetail `json:"errors"`
		Meta   map[string]any      `json:"meta"`
	}
	if err := json.Unmarshal(out, &body); err == nil && len(body.Errors) > 0 {
		if _, has := body.Meta["totalRecords"]; !has {
			at, _ := body.Meta["requestDateTime"].(string)
			if at == "" {
				at = httpx.FormatTime(time.Now())
			}
			if fixed, err := json.Marshal(pagedError{Errors: body.Errors, Meta: pagedMeta{TotalRecords: 1, TotalPages: 1, RequestDateTime: at}}); err == nil {
				out = fixed
			}
		}
	}
	e.Header().Set("Content-Length", strconv.Itoa(len(out)))
	e.ResponseWriter.WriteHeader(e.status)
	_, _ = e.ResponseWriter.Write(out)
}
