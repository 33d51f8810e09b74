package fapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ConsentsPath is the Consents API 3.3.1 collection under APIBaseURL.
const ConsentsPath = "/open-banking/consents/v3/consents"

// Document identifies a person (rel "CPF") or a company (rel "CNPJ").
type Document struct {
	Identification string `json:"identification"`
	Rel            string `json:"rel"`
}

// Party is the loggedUser or businessEntity of a consent.
type Party struct {
	Document Document `json:"document"`
}

// CPF and CNPJ build the parties of a consent request.
func CPF(cpf string) Party    { return Party{Document: Document{Identification: cpf, Rel: "CPF"}} }
func CNPJ(cnpj string) *Party { return &Party{Document: Document{Identification: cnpj, Rel: "CNPJ"}} }

// ConsentRequest is the data of POST /consents (CreateConsent).
type ConsentRequest struct {
	LoggedUser     Party
	BusinessEntity *Party
	Permissions    []string
	// ExpirationDateTime is sent in UTC to the second; zero means a consent
	// without end date.
	ExpirationDateTime time.Time
}

// TimeLayout is the Open Finance date-time format.
const TimeLayout = "2006-01-02T15:04:05Z"

// MarshalJSON writes the spec's {"data": {...}} body.
func (r ConsentRequest) MarshalJSON() ([]byte, error) {
	data := map[string]any{"loggedUser": r.LoggedUser, "permissions": r.Permissions}
	if r.BusinessEntity != nil {
		data["businessEntity"] = r.BusinessEntity
	}
	if !r.ExpirationDateTime.IsZero() {
		data["expirationDateTime"] = r.ExpirationDateTime.UTC().Format(TimeLayout)
	}
	return json.Marshal(map[string]any{"data": data})
}

// Consent is a consent as the holder reports it (ResponseConsent /
// ResponseConsentRead data).
type Consent struct {
	ConsentID            string     `json:"consentId"`
	CreationDateTime     time.Time  `json:"creationDateTime"`
	Status               string     `json:"status"` // AWAITING_AUTHORISATION, AUTHORISED, REJECTED
	StatusUpdateDateTime time.Time  `json:"statusUpdateDateTime"`
	Permissions          []string   `json:"permissions"`
	ExpirationDateTime   *time.Time `json:"expirationDateTime,omitempty"`
	Rejection            *Rejection `json:"rejection,omitempty"`
	// Raw is the whole response body.
	Raw json.RawMessage `json:"-"`
}

// Rejection says who rejected a consent and why.
type Rejection struct {
	RejectedBy string `json:"rejectedBy"` // USER, ASPSP, TPP
	Reason     struct {
		Code                  string `json:"code"` // CUSTOMER_MANUALLY_REJECTED, CUSTOMER_MANUALLY_REVOKED, ...
		AdditionalInformation string `json:"additionalInformation,omitempty"`
	} `json:"reason"`
}

// Consent statuses.
const (
	ConsentAwaitingAuthorisation = "AWAITING_AUTHORISATION"
	ConsentAuthorised            = "AUTHORISED"
	ConsentRejected              = "REJECTED"
)

func (c *Client) consentsURL() (string, error) {
	if c.cfg.APIBaseURL == "" {
		return "", fmt.Errorf("%w: APIBaseURL is required for the Consents API", ErrConfig)
	}
	return strings.TrimRight(c.cfg.APIBaseURL, "/") + ConsentsPath, nil
}

// CreateConsent creates a consent (POST /consents) with a client_credentials
// token carrying the "consents" scope. Errors are *APIError.
func (c *Client) CreateConsent(ctx context.Context, token string, req ConsentRequest) (Consent, error) {
	u, err := c.consentsURL()
	if err != nil {
		return Consent{}, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Consent{}, err
	}
	return c.consentCall(ctx, http.MethodPost, u, body, token, http.StatusCreated)
}

// GetConsent reads a consent (GET /consents/{consentId}).
func (c *Client) GetConsent(ctx context.Context, token, consentID string) (Consent, error) {
	u, err := c.consentsURL()
	if err != nil {
		return Consent{}, err
	}
	return c.consentCall(ctx, http.MethodGet, u+"/"+url.PathEscape(consentID), nil, token, http.StatusOK)
}

// DeleteConsent revokes (or, before authorisation, rejects) a consent
// (DELETE /consents/{consentId}); the holder then revokes its tokens.
func (c *Client) DeleteConsent(ctx context.Context, token, consentID string) error {
	u, err := c.consentsURL()
	if err != nil {
		return err
	}
	u += "/" + url.PathEscape(consentID)
	resp, err := c.send(ctx, http.MethodDelete, u, "", nil, token, nil)
	if err != nil {
		return fmt.Errorf("fapi: DELETE %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusNoContent {
		return apiError(http.MethodDelete, u, resp)
	}
	return nil
}

func (c *Client) consentCall(ctx context.Context, method, u string, body []byte, token string, want int) (Consent, error) {
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	resp, err := c.send(ctx, method, u, ct, body, token, nil)
	if err != nil {
		return Consent{}, fmt.Errorf("fapi: %s %s: %w", method, u, err)
	}
	if resp.StatusCode != want {
		return Consent{}, apiError(method, u, resp)
	}
	var doc struct {
		Data Consent `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil || doc.Data.ConsentID == "" || doc.Data.Status == "" {
		return Consent{}, fmt.Errorf("%w: %s %s: not a consent document (HTTP %d)", ErrUnexpectedResponse, method, u, resp.StatusCode)
	}
	doc.Data.Raw = resp.Body
	return doc.Data, nil
}
