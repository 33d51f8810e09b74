package resourceshttp

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/customerdata"
	"github.com/ofp-dev/ofp/ingest/apicalls"
	"github.com/ofp-dev/ofp/internal/httpx"
)

// BasePath and Version of the Resources API.
const (
	BasePath = "/open-banking/resources/v3"
	Version  = "3.1.0"
	// Path is the one endpoint.
	Path = BasePath + "/resources"
)

// Core is what the API asks the core banking port to tell whether a shared
// account or card is still held by the customer (*corebank.Synthetic
// satisfies it).
type Core interface {
	Accounts(ctx context.Context, owner corebank.Owner) ([]corebank.Account, error)
	CreditCardAccounts(ctx context.Context, owner corebank.Owner) ([]corebank.CreditCardAccount, error)
}

var _ Core = (*corebank.Synthetic)(nil)

// Handler serves GET /open-banking/resources/v3/resources.
type Handler struct {
	core Core
	opts customerdata.Options
	mux  *http.ServeMux
	log  *slog.Logger
}

// Route is the endpoint with its token requirement and permission.
func Route() customerdata.Route {
	return customerdata.Route{Method: http.MethodGet, Pattern: Path, Requirement: customerdata.TokenRequirement("resources"),
		Permission: consent.PermResourcesRead}
}

// New returns the Resources API handler. opts are the customer-data APIs'
// options (Consents and Caller required; Guard, Limiter, PublicURL, Now,
// Logger as there). core may be nil: statuses are then the stored ones.
func New(core Core, opts customerdata.Options) (*Handler, error) {
	if opts.Consents == nil || opts.Caller == nil {
		return nil, errors.New("resourceshttp: Options.Consents and Options.Caller are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{core: core, opts: opts, mux: http.NewServeMux(), log: opts.Logger}
	var list http.Handler = http.HandlerFunc(h.list)
	if opts.Guard != nil {
		list = opts.Guard(Route().Requirement)(list)
	}
	h.mux.Handle(http.MethodGet+" "+Path, h.stamp(list))
	h.mux.Handle(Path, h.stamp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := h.start(w, r)
		if rq == nil {
			return
		}
		w.Header().Set("Allow", "GET")
		rq.fail(http.StatusMethodNotAllowed, customerdata.CodeMethodNotAllowed, "Método não suportado", r.Method+" is not supported; use GET")
	})))
	h.mux.Handle(BasePath+"/", h.stamp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rq := h.start(w, r); rq != nil {
			rq.fail(http.StatusNotFound, customerdata.CodeNotFound, "Recurso não encontrado", "no such endpoint in this API")
		}
	})))
	return h, nil
}

// ServeHTTP serves the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// stamp records the templated endpoint and sets x-v on every answer.
func (h *Handler) stamp(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apicalls.FromContext(r.Context()).SetEndpoint(apicalls.TemplateOf(r.Pattern))
		w.Header().Set("x-v", Version)
		next.ServeHTTP(w, r)
	})
}

type request struct {
	w  http.ResponseWriter
	r  *http.Request
	at time.Time
}

// start checks x-fapi-interaction-id (400 with a generated one when it is
// missing or not a UUID); nil means the answer was given.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) *request {
	rq := &request{w: w, r: r, at: h.opts.Now().UTC().Truncate(time.Second)}
	id := r.Header.Get("x-fapi-interaction-id")
	if uuid.Validate(id) == nil && len(id) == 36 && strings.Count(id, "-") == 4 {
		w.Header().Set("x-fapi-interaction-id", id)
		return rq
	}
	w.Header().Set("x-fapi-interaction-id", uuid.NewString())
	rq.fail(http.StatusBadRequest, customerdata.CodeBadRequest, "Cabeçalho x-fapi-interaction-id inválido",
		"x-fapi-interaction-id is required and must be a UUID (RFC 4122)")
	return nil
}

func (rq *request) fail(status int, code, title, detail string) {
	rq.w.Header().Set("Cache-Control", "no-store")
	httpx.WriteErrorAt(rq.w, status, rq.at, httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
}

type resource struct {
	ResourceID string `json:"resourceId"`
	Type       string `json:"type"`
	Status     string `json:"status"`
}

type links struct {
	Self  string `json:"self"`
	First string `json:"first,omitempty"`
	Prev  string `json:"prev,omitempty"`
	Next  string `json:"next,omitempty"`
	Last  string `json:"last,omitempty"`
}

type meta struct {
	TotalRecords    int    `json:"totalRecords"`
	TotalPages      int    `json:"totalPages"`
	RequestDateTime string `json:"requestDateTime"`
}

type body struct {
	Data  []resource `json:"data"`
	Links links      `json:"links"`
	Meta  meta       `json:"meta"`
}

// list runs the checks in the customer-data order (interaction id 400,
// Accept 406, caller 401, rate limit 429, consent AUTHORISED 401,
// RESOURCES_READ 403, paging 400/422) and lists the consent's resources.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	rq := h.start(w, r)
	if rq == nil {
		return
	}
	call := apicalls.FromContext(r.Context())
	if !acceptsJSON(r.Header.Values("Accept")) {
		rq.fail(http.StatusNotAcceptable, customerdata.CodeNotAcceptable, "Accept não suportado", "this API answers application/json")
		return
	}
	id, err := h.opts.Caller(r)
	if err != nil || id.ClientID == "" || id.ConsentID == "" {
		rq.fail(http.StatusUnauthorized, customerdata.CodeUnauthorized, "Não autorizado", "the access token does not name a client and a consent")
		return
	}
	if id.OrgID != "" {
		call.SetClient(id.OrgID, id.SoftwareStatementID)
	}
	call.Set("consentId", id.ConsentID)
	if l := h.opts.Limiter; l != nil {
		if ok, wait := l.Allow(r.Context(), id.ClientID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(int((wait+time.Second-1)/time.Second), 1)))
			rq.fail(http.StatusTooManyRequests, customerdata.CodeTooManyRequests, "Muitas requisições", "the call limit of this client was reached; retry after the time in Retry-After")
			return
		}
	}
	ctx := r.Context()
	c, err := h.opts.Consents.Get(ctx, id.ConsentID)
	if errors.Is(err, consent.ErrNotFound) {
		rq.fail(http.StatusUnauthorized, customerdata.CodeUnauthorized, "Consentimento inválido", "the consent of the access token does not exist")
		return
	}
	if err != nil {
		h.internal(rq, "read consent", err)
		return
	}
	owner := corebank.Owner{CPF: c.LoggedUser.Document.Identification}
	call.Set("personType", "PF")
	if c.BusinessEntity != nil {
		owner.CNPJ = c.BusinessEntity.Document.Identification
		call.Set("personType", "PJ")
	}
	if c.Role != consent.RoleHolder || c.ClientID != id.ClientID {
		rq.fail(http.StatusUnauthorized, customerdata.CodeUnauthorized, "Consentimento inválido", "the consent of the access token was not given to this client")
		return
	}
	if _, due := consent.Due(c, rq.at); c.Status != consent.StatusAuthorised || due {
		rq.fail(http.StatusUnauthorized, customerdata.CodeUnauthorized, "Consentimento não autorizado",
			"the Resources API answers only for AUTHORISED consents")
		return
	}
	if !slices.Contains(c.Permissions, consent.PermResourcesRead) {
		rq.fail(http.StatusForbidden, customerdata.CodeForbidden, "Permissão ausente no consentimento", "the consent does not grant RESOURCES_READ")
		return
	}
	page, size, ok := rq.paging()
	if !ok {
		return
	}
	stored, err := h.opts.Consents.Resources(ctx, c.ID)
	if err != nil {
		h.internal(rq, "read consent resources", err)
		return
	}
	all, err := h.statuses(ctx, owner, stored)
	if err != nil {
		h.internal(rq, "check resources at the core", err)
		return
	}
	total := len(all)
	pages := (total + size - 1) / size
	if page > max(pages, 1) {
		rq.fail(http.StatusUnprocessableEntity, customerdata.CodeUnprocessable, "Página inexistente", "page "+strconv.Itoa(page)+" is past the last page")
		return
	}
	start := (page - 1) * size
	data := all[start:min(start+size, total)]
	out := body{Data: data, Links: h.links(rq, page, size, pages), Meta: meta{TotalRecords: total, TotalPages: pages, RequestDateTime: httpx.FormatTime(rq.at)}}
	if err := httpx.WriteJSON(w, http.StatusOK, out); err != nil {
		h.internal(rq, "encode response", err)
	}
}

// statuses turns the stored resources into the listed ones: the status the
// customer's choice gave them, except that an account or card the core no
// longer holds for this customer is UNAVAILABLE ("os STATUS DEVEM
// considerar ... a disponibilidade do recurso na instituição").
func (h *Handler) statuses(ctx context.Context, owner corebank.Owner, stored []consent.Resource) ([]resource, error) {
	out := make([]resource, 0, len(stored))
	var held map[string]bool
	for _, s := range stored {
		r := resource{ResourceID: s.ID, Type: s.Type, Status: s.Status}
		if h.core != nil && (s.Type == customerdata.ResourceAccount || s.Type == customerdata.ResourceCreditCardAccount) {
			if held == nil {
				var err error
				if held, err = h.held(ctx, owner, stored); err != nil {
					return nil, err
				}
			}
			if !held[s.Type+"/"+s.ID] {
				r.Status = "UNAVAILABLE"
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// held lists the accounts and cards the customer holds now, keyed by
// type/id; only the kinds the consent shares are asked for.
func (h *Handler) held(ctx context.Context, owner corebank.Owner, stored []consent.Resource) (map[string]bool, error) {
	held := map[string]bool{}
	var accounts, cards bool
	for _, s := range stored {
		accounts = accounts || s.Type == customerdata.ResourceAccount
		cards = cards || s.Type == customerdata.ResourceCreditCardAccount
	}
	if accounts {
		as, err := h.core.Accounts(ctx, owner)
		if err != nil && !notHeld(err) {
			return nil, err
		}
		for _, a := range as {
			held[customerdata.ResourceAccount+"/"+a.AccountID] = true
		}
	}
	if cards {
		cs, err := h.core.CreditCardAccounts(ctx, owner)
		if err != nil && !notHeld(err) {
			return nil, err
		}
		for _, c := range cs {
			held[customerdata.ResourceCreditCardAccount+"/"+c.CreditCardAccountID] = true
		}
	}
	return held, nil
}

// notHeld: the core no longer knows the customer; everything shared is
// UNAVAILABLE.
func notHeld(err error) bool {
	return errors.Is(err, corebank.ErrCustomerNotFound) || errors.Is(err, corebank.ErrNotRepresentative)
}

// paging reads page (≥ 1, else 400) and page-size: below 25 counts as 25
// (the spec's rule), above 1000 is 422, not an integer is 400.
func (rq *request) paging() (page, size int, ok bool) {
	q := rq.r.URL.Query()
	page, size = 1, customerdata.DefaultPageSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 2147483647 {
			rq.fail(http.StatusBadRequest, customerdata.CodeBadRequest, "Parâmetro page inválido", "page must be an integer from 1 to 2147483647")
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("page-size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			rq.fail(http.StatusBadRequest, customerdata.CodeBadRequest, "Parâmetro page-size inválido", "page-size must be an integer")
			return 0, 0, false
		}
		if n > customerdata.MaxPageSize {
			rq.fail(http.StatusUnprocessableEntity, customerdata.CodeUnprocessable, "Parâmetro page-size acima do máximo", "page-size may be at most 1000")
			return 0, 0, false
		}
		size = max(n, customerdata.DefaultPageSize)
	}
	return page, size, true
}

func (h *Handler) links(rq *request, page, size, pages int) links {
	base := h.opts.PublicURL
	if base == "" {
		scheme := "https"
		if rq.r.TLS == nil {
			scheme = "http"
		}
		base = scheme + "://" + rq.r.Host
	}
	base = strings.TrimRight(base, "/")
	l := links{Self: base + rq.r.URL.RequestURI()}
	q := url.Values{"page-size": {strconv.Itoa(size)}}
	at := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		return base + rq.r.URL.EscapedPath() + "?" + q.Encode()
	}
	if page > 1 {
		l.First, l.Prev = at(1), at(page-1)
	}
	if page < pages {
		l.Next, l.Last = at(page+1), at(pages)
	}
	return l
}

func (h *Handler) internal(rq *request, what string, err error) {
	h.log.ErrorContext(rq.r.Context(), "resourceshttp: "+what, "err", err)
	rq.fail(http.StatusInternalServerError, customerdata.CodeInternal, "Erro interno", "the request could not be completed; retry later")
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
