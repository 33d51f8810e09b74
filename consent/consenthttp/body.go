package consenthttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/ofp-dev/ofp/consent"
)

// maxBodyBytes bounds every request body; a consent request is a few KB.
const maxBodyBytes = 64 << 10

// Patterns from the spec's schemas.
var (
	cpfPattern       = regexp.MustCompile(`^\d{11}$`)
	cpfRelPattern    = regexp.MustCompile(`^[A-Z]{3}$`)
	cnpjPattern      = regexp.MustCompile(`^[0-9A-Z]{12}[0-9]{2}$`)
	cnpjRelPattern   = regexp.MustCompile(`^[A-Z]{4}$`)
	dateTimePattern  = regexp.MustCompile(`^(\d{4})-(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])T(?:[01]\d|2[0123]):(?:[012345]\d):(?:[012345]\d)Z$`)
	interactionIDPat = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// userAgentPattern is the spec's x-customer-user-agent pattern (no
	// leading or trailing white space).
	userAgentPattern = regexp.MustCompile(`^[^\s](.*[^\s])?$`)
)

type wireDocument struct {
	Identification *string `json:"identification"`
	Rel            *string `json:"rel"`
}

type wireParty struct {
	Document *wireDocument `json:"document"`
}

type wireCreateData struct {
	LoggedUser         *wireParty `json:"loggedUser"`
	BusinessEntity     *wireParty `json:"businessEntity"`
	Permissions        []string   `json:"permissions"`
	ExpirationDateTime *string    `json:"expirationDateTime"`
}

type wireExtendData struct {
	LoggedUser         *wireParty `json:"loggedUser"`
	BusinessEntity     *wireParty `json:"businessEntity"`
	ExpirationDateTime *string    `json:"expirationDateTime"`
}

// createRequest is a syntactically valid POST /consents body. Business rules
// (groups, PF/PJ, expiration policy, offered products) are checked later.
type createRequest struct {
	LoggedUser     consent.LoggedUser
	BusinessEntity *consent.BusinessEntity
	Permissions    []string
	// Expiration is nil for an open-ended consent.
	Expiration *time.Time
}

// extendRequest is a syntactically valid POST /consents/{id}/extends body.
type extendRequest struct {
	LoggedUser     consent.LoggedUser
	BusinessEntity *consent.BusinessEntity
	Expiration     *time.Time
}

// bodyError is a malformed body (HTTP 400); its text is safe to show.
type bodyError struct{ msg string }

func (e *bodyError) Error() string { return e.msg }

func badBody(format string, args ...any) error { return &bodyError{msg: fmt.Sprintf(format, args...)} }

// decodeStrict decodes exactly one JSON value from body into v.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badBody("the request body is empty; send a JSON object with data")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return badBody("field %s has the wrong JSON type (%s expected)", typeErr.Field, typeErr.Type)
		}
		return badBody("the request body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badBody("the request body has content after the JSON object")
	}
	return nil
}

// parseCreateConsent checks the body of POST /consents against the spec's
// CreateConsent schema. Every error is a *bodyError (HTTP 400), including
// unknown and duplicated permissions.
func parseCreateConsent(body []byte) (createRequest, error) {
	var w struct {
		Data *wireCreateData `json:"data"`
	}
	if err := decodeStrict(body, &w); err != nil {
		return createRequest{}, err
	}
	if w.Data == nil {
		return createRequest{}, badBody("data is required")
	}
	var req createRequest
	var err error
	if req.LoggedUser, err = parseLoggedUser(w.Data.LoggedUser); err != nil {
		return createRequest{}, err
	}
	if req.BusinessEntity, err = parseBusinessEntity(w.Data.BusinessEntity); err != nil {
		return createRequest{}, err
	}
	if len(w.Data.Permissions) == 0 {
		return createRequest{}, badBody("data.permissions must list at least one permission")
	}
	seen := map[string]bool{}
	for _, p := range w.Data.Permissions {
		if !consent.IsKnownPermission(p) {
			return createRequest{}, badBody("data.permissions: %q is not a permission of the Consents API", truncate(p, 100))
		}
		if seen[p] {
			return createRequest{}, badBody("data.permissions: %s is listed twice", p)
		}
		seen[p] = true
	}
	req.Permissions = append([]string(nil), w.Data.Permissions...)
	if req.Expiration, err = parseDateTime("data.expirationDateTime", w.Data.ExpirationDateTime); err != nil {
		return createRequest{}, err
	}
	return req, nil
}

// parseExtendConsent checks the body of POST /consents/{id}/extends against
// the spec's CreateConsentExtensions schema.
func parseExtendConsent(body []byte) (extendRequest, error) {
	var w struct {
		Data *wireExtendData `json:"data"`
	}
	if err := decodeStrict(body, &w); err != nil {
		return extendRequest{}, err
	}
	if w.Data == nil {
		return extendRequest{}, badBody("data is required")
	}
	var req extendRequest
	var err error
	if req.LoggedUser, err = parseLoggedUser(w.Data.LoggedUser); err != nil {
		return extendRequest{}, err
	}
	if req.BusinessEntity, err = parseBusinessEntity(w.Data.BusinessEntity); err != nil {
		return extendRequest{}, err
	}
	if req.Expiration, err = parseDateTime("data.expirationDateTime", w.Data.ExpirationDateTime); err != nil {
		return extendRequest{}, err
	}
	return req, nil
}

func parseLoggedUser(p *wireParty) (consent.LoggedUser, error) {
	if p == nil {
		return consent.LoggedUser{}, badBody("data.loggedUser is required")
	}
	doc, err := parseDocument("data.loggedUser", p, cpfPattern, cpfRelPattern, "11 digits (CPF)", "3 capital letters, e.g. CPF")
	if err != nil {
		return consent.LoggedUser{}, err
	}
	return consent.LoggedUser{Document: doc}, nil
}

func parseBusinessEntity(p *wireParty) (*consent.BusinessEntity, error) {
	if p == nil {
		return nil, nil
	}
	doc, err := parseDocument("data.businessEntity", p, cnpjPattern, cnpjRelPattern, "14 characters (CNPJ)", "4 capital letters, e.g. CNPJ")
	if err != nil {
		return nil, err
	}
	return &consent.BusinessEntity{Document: doc}, nil
}

func parseDocument(field string, p *wireParty, idPat, relPat *regexp.Regexp, idHint, relHint string) (consent.Document, error) {
	if p.Document == nil {
		return consent.Document{}, badBody("%s.document is required", field)
	}
	d := p.Document
	if d.Identification == nil || !idPat.MatchString(*d.Identification) {
		return consent.Document{}, badBody("%s.document.identification is required and must be %s", field, idHint)
	}
	if d.Rel == nil || !relPat.MatchString(*d.Rel) {
		return consent.Document{}, badBody("%s.document.rel is required and must be %s", field, relHint)
	}
	return consent.Document{Identification: *d.Identification, Rel: *d.Rel}, nil
}

// parseDateTime reads an optional RFC 3339 "zulu" date-time without
// fractions (the spec's pattern, at most 20 characters).
func parseDateTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	if len(*s) > 20 || !dateTimePattern.MatchString(*s) {
		return nil, badBody("%s must be a UTC date-time like 2021-05-21T08:30:00Z", field)
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		// The pattern allows one-digit months and days; RFC 3339 does not.
		t, err = time.Parse("2006-1-2T15:04:05Z", *s)
		if err != nil {
			return nil, badBody("%s is not a valid date-time", field)
		}
	}
	t = t.UTC()
	return &t, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
