package partnerapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/internal/httpx"
)

// Prefix is where the partner API answers.
const Prefix = "/partner/v1/consents/"

// Store is what the API reads; *consentsql.Store satisfies it.
type Store interface {
	GetPurpose(ctx context.Context, id string) (consent.PurposeConsent, error)
}

// PartnerAuthenticator names the partner that sent r. ErrUnauthenticated
// (wrapped or not) means no or wrong credentials (401); any other error is
// a failure of the authenticator (500).
type PartnerAuthenticator interface {
	Partner(r *http.Request) (string, error)
}

// ErrUnauthenticated: the request carries no valid partner credentials.
var ErrUnauthenticated = errors.New("partnerapi: no valid partner credentials")

// SharedData reads the data a purpose consent lets its partner see: the
// customer's data that pc.Permissions cover (and, when pc is linked, what
// the linked consent obtained). It is called only for an ACTIVE consent of
// the calling partner. The result is sent as the response's data.
type SharedData interface {
	Read(ctx context.Context, pc consent.PurposeConsent) (json.RawMessage, error)
}

// Options configures the API. Store, Partners and Data are required.
type Options struct {
	Store    Store
	Partners PartnerAuthenticator
	Data     SharedData
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Handler serves the partner API.
type Handler struct {
	o Options
}

// New validates opts and returns the handler.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Partners == nil || opts.Data == nil {
		return nil, errors.New("partnerapi: Options.Store, Partners and Data are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{o: opts}, nil
}

// Error codes.
const (
	CodeUnauthenticated = "NAO_AUTENTICADO"
	CodeForbidden       = "ACESSO_NAO_PERMITIDO"
	CodeInactive        = "CONSENTIMENTO_INATIVO"
	CodeNotFound        = "RECURSO_NAO_ENCONTRADO"
	CodeMethod          = httpx.CodeMethodNotAllowed
	CodeInternal        = "ERRO_INTERNO"
)

type consentData struct {
	ConsentID       string   `json:"consentId"`
	PurposeID       string   `json:"purposeId"`
	Status          string   `json:"status"`
	Permissions     []string `json:"permissions"`
	GrantedAt       string   `json:"grantedAt"`
	StatusUpdatedAt string   `json:"statusUpdateDateTime"`
	ExpiresAt       string   `json:"expirationDateTime,omitempty"`
}

type meta struct {
	RequestDateTime string `json:"requestDateTime"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.o.Now().UTC()
	fail := func(status int, code, title, detail string) {
		httpx.WriteErrorAt(w, status, now, httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	id, wantData := strings.CutSuffix(rest, "/data")
	if !ok || id == "" || strings.Contains(id, "/") || !consent.ValidID(id) {
		fail(http.StatusNotFound, CodeNotFound, "Recurso não encontrado", "no such resource")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fail(http.StatusMethodNotAllowed, CodeMethod, "Método não suportado", r.Method+" is not supported here")
		return
	}
	partner, err := h.o.Partners.Partner(r)
	switch {
	case errors.Is(err, ErrUnauthenticated) || (err == nil && partner == ""):
		h.o.Logger.Warn("partnerapi: unauthenticated call", "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="partner"`)
		fail(http.StatusUnauthorized, CodeUnauthenticated, "Parceiro não autenticado", "send a valid partner key as a Bearer token")
		return
	case err != nil:
		h.o.Logger.Error("partnerapi: authenticator failed", "err", err)
		fail(http.StatusInternalServerError, CodeInternal, "Erro interno", "retry later")
		return
	}
	pc, err := h.o.Store.GetPurpose(r.Context(), id)
	switch {
	case errors.Is(err, consent.ErrNotFound):
		fail(http.StatusNotFound, CodeNotFound, "Consentimento não encontrado", "consent "+id+" does not exist")
		return
	case err != nil:
		h.o.Logger.Error("partnerapi: read consent", "consent_id", id, "err", err)
		fail(http.StatusInternalServerError, CodeInternal, "Erro interno", "retry later")
		return
	}
	if pc.PartnerID == "" || subtle.ConstantTimeCompare([]byte(pc.PartnerID), []byte(partner)) != 1 {
		h.o.Logger.Warn("partnerapi: access denied", "partner", partner, "consent_id", id, "reason", "another partner's consent")
		fail(http.StatusForbidden, CodeForbidden, "Acesso não permitido", "this consent does not name the calling partner")
		return
	}
	if !wantData {
		d := consentData{ConsentID: pc.ID, PurposeID: pc.PurposeID, Status: string(pc.Status), Permissions: pc.Permissions,
			GrantedAt: httpx.FormatTime(pc.GrantedAt), StatusUpdatedAt: httpx.FormatTime(pc.StatusUpdateDateTime)}
		if d.Permissions == nil {
			d.Permissions = []string{}
		}
		if pc.Status == consent.PurposeActive && !pc.Active(now) {
			d.Status = string(consent.PurposeExpired) // due; the expiry job has not run yet
		}
		if pc.ExpiresAt != nil {
			d.ExpiresAt = httpx.FormatTime(*pc.ExpiresAt)
		}
		h.write(w, r, struct {
			Data consentData `json:"data"`
			Meta meta        `json:"meta"`
		}{d, meta{httpx.FormatTime(now)}})
		return
	}
	if !pc.Active(now) {
		h.o.Logger.Warn("partnerapi: access denied", "partner", partner, "consent_id", id, "reason", "consent not active", "status", pc.Status)
		fail(http.StatusForbidden, CodeInactive, "Consentimento inativo",
			fmt.Sprintf("the consent is %s; no data can be read under it", strings.ToLower(string(statusAt(pc, now)))))
		return
	}
	data, err := h.o.Data.Read(r.Context(), pc)
	if err != nil {
		h.o.Logger.Error("partnerapi: read shared data", "consent_id", id, "err", err)
		fail(http.StatusInternalServerError, CodeInternal, "Erro interno", "the data could not be read; retry later")
		return
	}
	h.o.Logger.Info("partnerapi: shared data read", "partner", partner, "consent_id", id, "purpose_id", pc.PurposeID)
	h.write(w, r, struct {
		Data json.RawMessage `json:"data"`
		Meta meta            `json:"meta"`
	}{data, meta{httpx.FormatTime(now)}})
}

func statusAt(pc consent.PurposeConsent, now time.Time) consent.PurposeStatus {
	if pc.Status == consent.PurposeActive && !pc.Active(now) {
		return consent.PurposeExpired
	}
	return pc.Status
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, v any) {
	w.Header().Set("Cache-Control", "no-store")
	if err := httpx.WriteJSON(w, http.StatusOK, v); err != nil {
		h.o.Logger.Error("partnerapi: encode response", "path", r.URL.Path, "err", err)
	}
}

// KeyAuthenticator checks "Authorization: Bearer <key>" against the
// SHA-256 digests of the partners' keys (HashKey), comparing every digest
// in constant time. Keys are random secrets of 32 bytes or more, so a
// plain digest (not a password hash) is enough.
type KeyAuthenticator struct {
	partners []string
	digests  [][]byte
}

// HashKey returns the hex SHA-256 digest of a partner key, the form the
// configuration keeps.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// NewKeyAuthenticator takes partner ID → hex SHA-256 digest of its key.
func NewKeyAuthenticator(digests map[string]string) (*KeyAuthenticator, error) {
	a := &KeyAuthenticator{}
	for partner, d := range digests {
		b, err := hex.DecodeString(d)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("partnerapi: the key digest of partner %q is not a hex SHA-256", partner)
		}
		if partner == "" {
			return nil, errors.New("partnerapi: a partner key without a partner ID")
		}
		a.partners = append(a.partners, partner)
		a.digests = append(a.digests, b)
	}
	return a, nil
}

// Partner implements PartnerAuthenticator.
func (a *KeyAuthenticator) Partner(r *http.Request) (string, error) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(key) == "" {
		return "", ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
	found := -1
	for i, d := range a.digests {
		if subtle.ConstantTimeCompare(sum[:], d) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", ErrUnauthenticated
	}
	return a.partners[found], nil
}
