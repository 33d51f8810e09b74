package dcr

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/internal/pki"
)

// CertificateSource gives the verified client certificate of a request.
// TLSCertificates reads it from the TLS connection; a gateway deployment can
// supply one that reads a trusted header instead.
type CertificateSource interface {
	ClientCertificate(r *http.Request) (*x509.Certificate, error)
}

// TLSCertificates reads r.TLS.PeerCertificates[0], which the TLS layer has
// verified against the configured client CAs.
type TLSCertificates struct{}

// ClientCertificate implements CertificateSource.
func (TLSCertificates) ClientCertificate(r *http.Request) (*x509.Certificate, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, errors.New("dcr: no client certificate on the connection")
	}
	return r.TLS.PeerCertificates[0], nil
}

// Options configure New.
type Options struct {
	// Issuer is the directory's SSA issuer (the iss claim). Required.
	Issuer string
	// Keys gives the directory signing keys. Required.
	Keys KeySource
	// Store keeps the clients. Required.
	Store Store
	// Brand is the id of the brand (authz/keys) this handler registers
	// clients for; clients of other brands are unknown here. Required:
	// mount one Handler per brand.
	Brand string
	// RegistrationURL is the public URL of POST /register, e.g.
	// https://as.bank.example/register; registration_client_uri is
	// RegistrationURL + "/" + client_id. Required.
	RegistrationURL string
	// Certificates defaults to TLSCertificates.
	Certificates CertificateSource
	// MaxStatementAge defaults to 5 minutes (DCR-BR).
	MaxStatementAge time.Duration
	// Leeway tolerated for an iat in the future; default 30 s.
	Leeway time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Handler serves DCR and DCM. Mount it so that it sees the /register paths.
type Handler struct {
	opts Options
	mux  *http.ServeMux
}

// maxBody bounds a registration request body.
const maxBody = 64 << 10

// New validates opts and builds the handler.
func New(opts Options) (*Handler, error) {
	switch {
	case opts.Issuer == "":
		return nil, errors.New("dcr: Options.Issuer (the directory SSA issuer) is required")
	case opts.Keys == nil:
		return nil, errors.New("dcr: Options.Keys (the directory JWKS) is required")
	case opts.Store == nil:
		return nil, errors.New("dcr: Options.Store is required")
	case opts.Brand == "":
		return nil, errors.New("dcr: Options.Brand (the brand id whose clients this handler registers) is required")
	case !strings.HasPrefix(opts.RegistrationURL, "https://"):
		return nil, fmt.Errorf("dcr: Options.RegistrationURL %q must be the public https URL of /register", opts.RegistrationURL)
	}
	opts.RegistrationURL = strings.TrimSuffix(opts.RegistrationURL, "/")
	if opts.Certificates == nil {
		opts.Certificates = TLSCertificates{}
	}
	if opts.MaxStatementAge <= 0 {
		opts.MaxStatementAge = 5 * time.Minute
	}
	if opts.Leeway <= 0 {
		opts.Leeway = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /register", h.register)
	for _, p := range []string{"/register/{client_id}", "/register"} {
		h.mux.HandleFunc("GET "+p, h.read)
		h.mux.HandleFunc("PUT "+p, h.update)
		h.mux.HandleFunc("DELETE "+p, h.delete)
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Response is the body of a successful registration, read or update.
type Response struct {
	ClientID                string `json:"client_id"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	RegistrationAccessToken string `json:"registration_access_token"`
	RegistrationClientURI   string `json:"registration_client_uri"`
	Metadata
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	now := h.opts.Now().UTC()
	req, ssa, err := h.validate(r, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if req.ClientID != "" {
		h.fail(w, r, errMetadata("client_id must be empty on a new registration"))
		return
	}
	md, err := buildMetadata(req, ssa)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	token, hash, err := newToken()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c := Client{
		ID:            uuid.NewString(),
		Brand:         h.opts.Brand,
		SoftwareID:    ssa.SoftwareID,
		OrgID:         ssa.OrgID,
		TokenHash:     hash,
		StatementHash: sum(req.SoftwareStatement),
		IssuedAt:      now.Truncate(time.Second),
		UpdatedAt:     now.Truncate(time.Second),
		Metadata:      md,
	}
	c.Metadata.SoftwareStatement = req.SoftwareStatement
	if err := h.opts.Store.Create(r.Context(), c); err != nil {
		if errors.Is(err, ErrDuplicate) {
			h.fail(w, r, errInvalidStatement("this software_statement was already used for a registration: get a fresh one from the directory"))
			return
		}
		h.fail(w, r, fmt.Errorf("dcr: store new client: %w", err))
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "dcr: client registered", "brand", c.Brand, "client_id", c.ID, "software_id", c.SoftwareID, "org_id", c.OrgID)
	w.Header().Set("Location", h.clientURI(c.ID))
	writeJSON(w, http.StatusCreated, h.response(c, token))
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	c, token, err := h.authorize(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.response(c, token))
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	c, token, err := h.authorize(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.opts.Now().UTC()
	req, ssa, err := h.validate(r, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if req.ClientID != "" && req.ClientID != c.ID {
		h.fail(w, r, errMetadata("client_id in the body does not match the client being updated"))
		return
	}
	if ssa.SoftwareID != c.SoftwareID || ssa.OrgID != c.OrgID {
		h.fail(w, r, errUnapproved("the software_statement is for another software than the registered client"))
		return
	}
	md, err := buildMetadata(req, ssa)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	md.SoftwareStatement = req.SoftwareStatement
	c.Metadata = md
	c.StatementHash = sum(req.SoftwareStatement)
	c.UpdatedAt = now.Truncate(time.Second)
	if err := h.opts.Store.Update(r.Context(), c); err != nil {
		switch {
		case errors.Is(err, ErrDuplicate):
			h.fail(w, r, errInvalidStatement("this software_statement was already used: get a fresh one from the directory"))
		case errors.Is(err, ErrNotFound):
			h.fail(w, r, errBadToken)
		default:
			h.fail(w, r, fmt.Errorf("dcr: store updated client: %w", err))
		}
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "dcr: client updated", "client_id", c.ID)
	writeJSON(w, http.StatusOK, h.response(c, token))
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	c, _, err := h.authorize(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.opts.Store.Delete(r.Context(), c.Brand, c.ID); err != nil {
		if errors.Is(err, ErrNotFound) {
			h.fail(w, r, errBadToken)
			return
		}
		h.fail(w, r, fmt.Errorf("dcr: delete client: %w", err))
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "dcr: client deleted", "client_id", c.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// validate reads the body, verifies the software statement and binds it to
// the client certificate (UID = software_id, OFBBR-<org_id>).
func (h *Handler) validate(r *http.Request, now time.Time) (Request, SoftwareStatement, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return Request{}, SoftwareStatement{}, errMetadata(fmt.Sprintf("the body could not be read or is larger than %d bytes", maxBody))
	}
	req, err := ParseRequest(body)
	if err != nil {
		return Request{}, SoftwareStatement{}, err
	}
	ssa, err := verifyStatement(r.Context(), h.opts.Keys, h.opts.Issuer, req.SoftwareStatement, now, h.opts.MaxStatementAge, h.opts.Leeway)
	if err != nil {
		return Request{}, SoftwareStatement{}, err
	}
	softwareID, orgID, err := h.certificateSubject(r)
	if err != nil {
		return Request{}, SoftwareStatement{}, errUnapproved("a valid Open Finance client certificate is required")
	}
	if softwareID != ssa.SoftwareID || orgID != ssa.OrgID {
		return Request{}, SoftwareStatement{}, errUnapproved("the client certificate's software_id/org_id do not match the software_statement")
	}
	return req, ssa, nil
}

func (h *Handler) certificateSubject(r *http.Request) (softwareID, orgID string, err error) {
	cert, err := h.opts.Certificates.ClientCertificate(r)
	if err != nil {
		return "", "", err
	}
	return pki.ClientSubject(cert)
}

// authorize finds the client named by the path (or ?client_id=), checks the
// Bearer registration access token in constant time and that the request
// comes with the registered software's certificate.
func (h *Handler) authorize(r *http.Request) (Client, string, error) {
	id := r.PathValue("client_id")
	if id == "" {
		id = r.URL.Query().Get("client_id")
	}
	token, ok := bearer(r)
	if !ok || id == "" {
		return Client{}, "", errBadToken
	}
	c, err := h.opts.Store.Get(r.Context(), h.opts.Brand, id)
	if errors.Is(err, ErrNotFound) {
		return Client{}, "", errBadToken
	}
	if err != nil {
		return Client{}, "", fmt.Errorf("dcr: load client: %w", err)
	}
	if !tokenMatches(token, c.TokenHash) {
		return Client{}, "", errBadToken
	}
	softwareID, orgID, err := h.certificateSubject(r)
	if err != nil || softwareID != c.SoftwareID || orgID != c.OrgID {
		return Client{}, "", &Error{Status: http.StatusForbidden, Code: CodeAccessDenied,
			Description: "the client certificate does not belong to the registered software"}
	}
	return c, token, nil
}

func (h *Handler) response(c Client, token string) Response {
	return Response{
		ClientID:                c.ID,
		ClientIDIssuedAt:        c.IssuedAt.Unix(),
		RegistrationAccessToken: token,
		RegistrationClientURI:   h.clientURI(c.ID),
		Metadata:                c.Metadata,
	}
}

func (h *Handler) clientURI(id string) string { return h.opts.RegistrationURL + "/" + id }

// fail writes err: an *Error as is, anything else as a logged 500 whose
// details stay in the log.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeError(w, e)
		return
	}
	h.opts.Logger.ErrorContext(r.Context(), "dcr: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, &Error{Status: http.StatusInternalServerError, Code: CodeServerError, Description: "internal error: try again later"})
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// newToken returns a registration access token (32 random bytes,
// base64url) and its SHA-256.
func newToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("dcr: random token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, sum(token), nil
}

// tokenMatches compares the hash of the presented token with the stored one
// in constant time.
func tokenMatches(token string, stored []byte) bool {
	return subtle.ConstantTimeCompare(sum(token), stored) == 1
}

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
