package purposes

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// AdminPrefix is the path under which AdminHandler answers.
const AdminPrefix = "/admin/v1/purposes"

// AdminOptions configures an AdminHandler. The zero value is usable.
type AdminOptions struct {
	// Now is the clock for meta.requestDateTime; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Actor names who made a request, for the change log (for example the
	// authenticated user put in the context by internal/rbac). Optional.
	Actor func(*http.Request) string
}

// AdminHandler is the admin API of the purposes registry:
//
//	GET    /admin/v1/purposes        200 list
//	POST   /admin/v1/purposes        201 (Location, ETag) | 400 | 409 | 415 | 422
//	GET    /admin/v1/purposes/{id}   200 (ETag) | 404
//	PUT    /admin/v1/purposes/{id}   200 (ETag) | 400 | 404 | 412 | 415 | 422 | 428 (no If-Match)
//	DELETE /admin/v1/purposes/{id}   204 | 404 | 412 (If-Match optional)
//
// The ETag of a purpose is its version in quotes ("3"). Errors use the
// Open Finance shape {"errors":[{code,title,detail}],"meta":{requestDateTime}}.
// It does no authentication: wrap it (internal/rbac Guard.RequireMethods).
type AdminHandler struct {
	store *Store
	now   func() time.Time
	log   *slog.Logger
	actor func(*http.Request) string
}

// NewAdminHandler returns the admin API over store.
func NewAdminHandler(store *Store, opts AdminOptions) *AdminHandler {
	h := &AdminHandler{store: store, now: opts.Now, log: opts.Logger, actor: opts.Actor}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.actor == nil {
		h.actor = func(*http.Request) string { return "" }
	}
	return h
}

var _ http.Handler = (*AdminHandler)(nil)

func (h *AdminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, AdminPrefix)
	switch {
	case !ok:
		h.fail(w, http.StatusNotFound, CodeNotFound, "Not found", "no such path")
	case rest == "" || rest == "/":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.list(w, r)
		case http.MethodPost:
			h.create(w, r)
		default:
			h.notAllowed(w, "GET, HEAD, POST")
		}
	case strings.HasPrefix(rest, "/") && !strings.Contains(rest[1:], "/"):
		id := rest[1:]
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.get(w, r, id)
		case http.MethodPut:
			h.update(w, r, id)
		case http.MethodDelete:
			h.delete(w, r, id)
		default:
			h.notAllowed(w, "GET, HEAD, PUT, DELETE")
		}
	default:
		h.fail(w, http.StatusNotFound, CodeNotFound, "Not found", "no such path")
	}
}

type adminOne struct {
	Data wirePurposeOut `json:"data"`
	Meta meta           `json:"meta"`
}

type listMeta struct {
	TotalRecords    int    `json:"totalRecords"`
	RequestDateTime string `json:"requestDateTime"`
}

type adminList struct {
	Data []wirePurposeOut `json:"data"`
	Meta listMeta         `json:"meta"`
}

func (h *AdminHandler) list(w http.ResponseWriter, r *http.Request) {
	ps, err := h.store.List(r.Context())
	if err != nil {
		h.internal(w, r, err)
		return
	}
	out := adminList{Data: make([]wirePurposeOut, len(ps)), Meta: listMeta{TotalRecords: len(ps), RequestDateTime: h.stamp()}}
	for i, p := range ps {
		out.Data[i] = toWire(p)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

func (h *AdminHandler) get(w http.ResponseWriter, r *http.Request, id string) {
	p, err := h.store.Get(r.Context(), id)
	if err != nil {
		h.storeError(w, r, err, id)
		return
	}
	h.one(w, http.StatusOK, p)
}

func (h *AdminHandler) create(w http.ResponseWriter, r *http.Request) {
	p, ok := h.body(w, r)
	if !ok {
		return
	}
	created, err := h.store.Create(r.Context(), p)
	if err != nil {
		h.storeError(w, r, err, p.ID)
		return
	}
	h.log.Info("purposes: created", "purpose", created.ID, "version", created.Version, "actor", h.actor(r))
	w.Header().Set("Location", AdminPrefix+"/"+created.ID)
	h.one(w, http.StatusCreated, created)
}

func (h *AdminHandler) update(w http.ResponseWriter, r *http.Request, id string) {
	cond, present := parseIfMatch(r.Header.Values("If-Match"))
	if !present {
		h.fail(w, http.StatusPreconditionRequired, CodePreconditionRequired, "If-Match required",
			`send If-Match with the ETag of the purpose you read (e.g. If-Match: "3") so that concurrent changes are not lost`)
		return
	}
	p, ok := h.body(w, r)
	if !ok {
		return
	}
	if p.ID != "" && p.ID != id {
		h.fail(w, http.StatusUnprocessableEntity, CodeIDMismatch, "Id mismatch",
			fmt.Sprintf("data.id %q differs from the id in the path %q; ids cannot be changed", p.ID, id))
		return
	}
	p.ID = id
	if err := p.Validate(); err != nil {
		h.storeError(w, r, err, id)
		return
	}
	cur, err := h.store.Get(r.Context(), id)
	if err != nil {
		h.storeError(w, r, err, id)
		return
	}
	if !cond.matches(cur.Version) {
		h.storeError(w, r, ErrVersionConflict, id)
		return
	}
	updated, err := h.store.Update(r.Context(), p, cur.Version)
	if err != nil {
		h.storeError(w, r, err, id)
		return
	}
	h.log.Info("purposes: updated", "purpose", id, "version", updated.Version, "actor", h.actor(r))
	h.one(w, http.StatusOK, updated)
}

func (h *AdminHandler) delete(w http.ResponseWriter, r *http.Request, id string) {
	var version int64
	if cond, present := parseIfMatch(r.Header.Values("If-Match")); present && !cond.any {
		cur, err := h.store.Get(r.Context(), id)
		if err != nil {
			h.storeError(w, r, err, id)
			return
		}
		if !cond.matches(cur.Version) {
			h.storeError(w, r, ErrVersionConflict, id)
			return
		}
		version = cur.Version
	}
	if err := h.store.Delete(r.Context(), id, version); err != nil {
		h.storeError(w, r, err, id)
		return
	}
	h.log.Info("purposes: deleted", "purpose", id, "actor", h.actor(r))
	w.WriteHeader(http.StatusNoContent)
}

// body checks the media type and parses the body, answering 415 or 400.
func (h *AdminHandler) body(w http.ResponseWriter, r *http.Request) (Purpose, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		h.fail(w, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Unsupported media type",
			"send the purpose as Content-Type: application/json")
		return Purpose{}, false
	}
	p, err := ParsePurposeBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes+1))
	if err != nil {
		h.fail(w, http.StatusBadRequest, CodeMalformedBody, "Malformed body", err.(*BodyError).Reason)
		return Purpose{}, false
	}
	return p, true
}

func (h *AdminHandler) one(w http.ResponseWriter, status int, p Purpose) {
	w.Header().Set("ETag", versionETag(p.Version))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, adminOne{Data: toWire(p), Meta: meta{RequestDateTime: h.stamp()}})
}

func (h *AdminHandler) storeError(w http.ResponseWriter, r *http.Request, err error, id string) {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		errs := make([]httpx.ErrorDetail, len(ve.Fields))
		for i, f := range ve.Fields {
			errs[i] = httpx.ErrorDetail{Code: f.Code, Title: "Invalid field " + f.Field, Detail: f.Message}
		}
		httpx.WriteErrorAt(w, http.StatusUnprocessableEntity, h.now(), errs...)
	case errors.Is(err, ErrNotFound):
		h.fail(w, http.StatusNotFound, CodeNotFound, "Purpose not found", fmt.Sprintf("no purpose has id %q", id))
	case errors.Is(err, ErrAlreadyExists):
		h.fail(w, http.StatusConflict, CodeAlreadyExists, "Purpose already exists",
			fmt.Sprintf("a purpose with id %q exists; update it with PUT or choose another id", id))
	case errors.Is(err, ErrVersionConflict):
		h.fail(w, http.StatusPreconditionFailed, CodeVersionMismatch, "Version mismatch",
			"the purpose changed since you read it; GET it again and re-apply your change with the new ETag")
	default:
		h.internal(w, r, err)
	}
}

func (h *AdminHandler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("purposes: admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	h.fail(w, http.StatusInternalServerError, CodeInternal, "Internal error", "the request could not be completed; try again later")
}

func (h *AdminHandler) notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	h.fail(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed", "allowed: "+allow)
}

func (h *AdminHandler) fail(w http.ResponseWriter, status int, code, title, detail string) {
	writeError(w, status, h.now(), code, title, detail)
}

func (h *AdminHandler) stamp() string { return h.now().UTC().Format(timeLayout) }

func versionETag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatch is a parsed If-Match header: "*" or a list of strong ETags.
type ifMatch struct {
	any      bool
	versions []int64
}

func (c ifMatch) matches(v int64) bool {
	if c.any {
		return true
	}
	for _, x := range c.versions {
		if x == v {
			return true
		}
	}
	return false
}

// parseIfMatch reads If-Match. Weak or unparseable tags match nothing
// (RFC 9110 compares If-Match strongly), so they lead to 412.
func parseIfMatch(values []string) (ifMatch, bool) {
	var c ifMatch
	present := false
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "" {
				continue
			}
			present = true
			if tag == "*" {
				c.any = true
				continue
			}
			if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
				continue
			}
			if n, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64); err == nil && n > 0 {
				c.versions = append(c.versions, n)
			}
		}
	}
	return c, present
}
