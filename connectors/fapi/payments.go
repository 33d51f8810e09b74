package fapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// The payment-initiation side of the Payments API 4.0.0 (Pix): payment
// consents and Pix payments, whose request and response bodies are signed
// JWTs (application/jwt, PS256).

// PaymentsPath is the Payments API 4.0.0 base under APIBaseURL.
const PaymentsPath = "/open-banking/payments/v4"

// JWTContentType is the media type of the payments API's signed bodies.
const JWTContentType = "application/jwt"

// HeaderIdempotencyKey carries the idempotency key of POST /consents, POST
// /pix/payments and PATCH /pix/payments/consents/{consentId}.
const HeaderIdempotencyKey = "x-idempotency-key"

// ErrInvalidSignedResponse: the holder's signed answer failed verification
// (not a PS256 JWS, unknown kid, bad signature, iss, aud or iat). Its
// content must not be trusted; the operation's outcome is unknown — read
// the resource again (or retry with the same idempotency key).
var ErrInvalidSignedResponse = errors.New("fapi: the holder's signed answer failed verification")

// Payment consent statuses (Payments 4.0.0).
const (
	PaymentConsentAwaitingAuthorisation = "AWAITING_AUTHORISATION"
	PaymentConsentPartiallyAccepted     = "PARTIALLY_ACCEPTED"
	PaymentConsentAuthorised            = "AUTHORISED"
	PaymentConsentRejected              = "REJECTED"
	PaymentConsentConsumed              = "CONSUMED"
)

// Pix payment statuses (Payments 4.0.0).
const (
	PixReceived           = "RCVD"
	PixAccepted           = "ACCP"
	PixAcceptedProcessing = "ACPD"
	PixSettled            = "ACSC"
	PixPending            = "PDNG"
	PixScheduled          = "SCHD"
	PixCancelled          = "CANC"
	PixRejected           = "RJCT"
)

// PaymentAccount is a Pix account (debtor or creditor). Issuer (the branch)
// is required for CACC and SVGS accounts.
type PaymentAccount struct {
	ISPB        string `json:"ispb"`
	Issuer      string `json:"issuer,omitempty"`
	Number      string `json:"number"`
	AccountType string `json:"accountType"` // CACC, SVGS, TRAN, SLRY
}

// Creditor is who receives the payment: PersonType PESSOA_NATURAL with a
// CPF or PESSOA_JURIDICA with a CNPJ in CpfCnpj.
type Creditor struct {
	PersonType string `json:"personType"`
	CpfCnpj    string `json:"cpfCnpj"`
	Name       string `json:"name"`
}

// PaymentDetails are the Pix details of a consent's payment.
type PaymentDetails struct {
	LocalInstrument string         `json:"localInstrument"` // MANU, DICT, QRDN, QRES, INIC
	QRCode          string         `json:"qrCode,omitempty"`
	Proxy           string         `json:"proxy,omitempty"`
	CreditorAccount PaymentAccount `json:"creditorAccount"`
}

// ScheduleRecurring is a daily, weekly or monthly schedule.
type ScheduleRecurring struct {
	StartDate  string `json:"startDate"` // YYYY-MM-DD
	Quantity   int    `json:"quantity"`
	DayOfWeek  string `json:"dayOfWeek,omitempty"`  // weekly: SEGUNDA_FEIRA, ...
	DayOfMonth int    `json:"dayOfMonth,omitempty"` // monthly
}

// ScheduleCustom is a list of dates.
type ScheduleCustom struct {
	Dates                 []string `json:"dates"`
	AdditionalInformation string   `json:"additionalInformation"`
}

// ScheduleSingle is one future date.
type ScheduleSingle struct {
	Date string `json:"date"`
}

// PaymentSchedule holds exactly one of its members.
type PaymentSchedule struct {
	Single  *ScheduleSingle    `json:"single,omitempty"`
	Daily   *ScheduleRecurring `json:"daily,omitempty"`
	Weekly  *ScheduleRecurring `json:"weekly,omitempty"`
	Monthly *ScheduleRecurring `json:"monthly,omitempty"`
	Custom  *ScheduleCustom    `json:"custom,omitempty"`
}

// ConsentPayment is the payment a consent authorises: Date (today,
// YYYY-MM-DD in Brasília) or Schedule, never both. Amount is a decimal
// string ("12.34").
type ConsentPayment struct {
	Type         string           `json:"type"` // PIX
	Date         string           `json:"date,omitempty"`
	Schedule     *PaymentSchedule `json:"schedule,omitempty"`
	Currency     string           `json:"currency"` // BRL
	Amount       string           `json:"amount"`
	IbgeTownCode string           `json:"ibgeTownCode,omitempty"`
	Details      PaymentDetails   `json:"details"`
}

// PaymentConsentRequest is the data of POST /payments/v4/consents.
type PaymentConsentRequest struct {
	LoggedUser     Party           `json:"loggedUser"`
	BusinessEntity *Party          `json:"businessEntity,omitempty"`
	Creditor       Creditor        `json:"creditor"`
	Payment        ConsentPayment  `json:"payment"`
	DebtorAccount  *PaymentAccount `json:"debtorAccount,omitempty"`
}

// RejectionReason is why a payment consent or a payment was rejected.
type RejectionReason struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// PaymentConsent is a payment consent as the holder answers it.
type PaymentConsent struct {
	ConsentID            string           `json:"consentId"`
	CreationDateTime     time.Time        `json:"creationDateTime"`
	ExpirationDateTime   time.Time        `json:"expirationDateTime"`
	StatusUpdateDateTime time.Time        `json:"statusUpdateDateTime"`
	Status               string           `json:"status"`
	LoggedUser           Party            `json:"loggedUser"`
	BusinessEntity       *Party           `json:"businessEntity,omitempty"`
	Creditor             Creditor         `json:"creditor"`
	Payment              ConsentPayment   `json:"payment"`
	DebtorAccount        *PaymentAccount  `json:"debtorAccount,omitempty"`
	RejectionReason      *RejectionReason `json:"rejectionReason,omitempty"`
	// Answer is the verified signed answer it was read from.
	Answer *SignedAnswer `json:"-"`
}

// PixAmount is an amount (decimal string) and its currency (BRL).
type PixAmount struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// PixPaymentRequest is one item of POST /pix/payments. EndToEndID is the
// Pix identifier the initiator generates (E + ISPB + yyyyMMddHHmm UTC + 11
// characters); CnpjInitiator is the initiator's CNPJ.
type PixPaymentRequest struct {
	EndToEndID                string         `json:"endToEndId"`
	LocalInstrument           string         `json:"localInstrument"`
	Payment                   PixAmount      `json:"payment"`
	CreditorAccount           PaymentAccount `json:"creditorAccount"`
	RemittanceInformation     string         `json:"remittanceInformation,omitempty"`
	QRCode                    string         `json:"qrCode,omitempty"`
	Proxy                     string         `json:"proxy,omitempty"`
	CnpjInitiator             string         `json:"cnpjInitiator"`
	TransactionIdentification string         `json:"transactionIdentification,omitempty"`
	IbgeTownCode              string         `json:"ibgeTownCode,omitempty"`
	AuthorisationFlow         string         `json:"authorisationFlow,omitempty"`
	ConsentID                 string         `json:"consentId,omitempty"`
}

// Cancellation says who cancelled a payment, from where and why.
type Cancellation struct {
	Reason        string    `json:"reason"`
	CancelledFrom string    `json:"cancelledFrom"` // INICIADORA, DETENTORA
	CancelledAt   time.Time `json:"cancelledAt"`
	CancelledBy   Party     `json:"cancelledBy"`
}

// PixPayment is a Pix payment as the holder answers it.
type PixPayment struct {
	PaymentID                 string           `json:"paymentId"`
	EndToEndID                string           `json:"endToEndId"`
	ConsentID                 string           `json:"consentId"`
	CreationDateTime          time.Time        `json:"creationDateTime"`
	StatusUpdateDateTime      time.Time        `json:"statusUpdateDateTime"`
	Proxy                     string           `json:"proxy,omitempty"`
	IbgeTownCode              string           `json:"ibgeTownCode,omitempty"`
	Status                    string           `json:"status"`
	RejectionReason           *RejectionReason `json:"rejectionReason,omitempty"`
	LocalInstrument           string           `json:"localInstrument"`
	CnpjInitiator             string           `json:"cnpjInitiator"`
	Payment                   PixAmount        `json:"payment"`
	TransactionIdentification string           `json:"transactionIdentification,omitempty"`
	RemittanceInformation     string           `json:"remittanceInformation,omitempty"`
	CreditorAccount           PaymentAccount   `json:"creditorAccount"`
	DebtorAccount             PaymentAccount   `json:"debtorAccount"`
	Cancellation              *Cancellation    `json:"cancellation,omitempty"`
	AuthorisationFlow         string           `json:"authorisationFlow,omitempty"`
	// Answer is the verified signed answer it was read from (shared by the
	// items of one POST /pix/payments answer).
	Answer *SignedAnswer `json:"-"`
}

// CancelledPayment is an item of the answer to PATCH
// /pix/payments/consents/{consentId}.
type CancelledPayment struct {
	PaymentID            string    `json:"paymentId"`
	StatusUpdateDateTime time.Time `json:"statusUpdateDateTime"`
}

// SignedAnswer is a verified signed answer of the payments API.
type SignedAnswer struct {
	StatusCode    int
	Header        http.Header
	JWS           []byte // the body as received (a compact JWS)
	Payload       []byte // its verified JSON payload (data/links/meta or errors/meta, and the claims)
	InteractionID string
	Issuer        string
	Audience      []string
	JTI           string
	IssuedAt      time.Time
	// Replayed is the holder's x-idempotency-replayed: true (an answer
	// replayed for a repeated idempotency key). Not every holder sends it.
	Replayed bool
}

func (c *Client) paymentsURL(path string) (string, error) {
	if c.cfg.APIBaseURL == "" {
		return "", fmt.Errorf("%w: APIBaseURL is required for the Payments API", ErrConfig)
	}
	if c.cfg.OrganisationID == "" {
		return "", fmt.Errorf("%w: OrganisationID is required for the Payments API (iss of signed requests, aud of answers)", ErrConfig)
	}
	return strings.TrimRight(c.cfg.APIBaseURL, "/") + PaymentsPath + path, nil
}

// SignBody returns data as a signed request body for the endpoint at
// endpointURL: a compact PS256 JWS (typ JWT, the client's kid) whose claims
// are aud = endpointURL, iss = Config.OrganisationID, a fresh UUID jti,
// iat = now and data. Every retry needs a new one (new jti and iat).
func (c *Client) SignBody(endpointURL string, data any) ([]byte, error) {
	if c.cfg.OrganisationID == "" {
		return nil, fmt.Errorf("%w: OrganisationID is required to sign request bodies", ErrConfig)
	}
	raw, err := c.signer.sign(map[string]any{
		"aud": endpointURL, "iss": c.cfg.OrganisationID, "jti": uuid.NewString(),
		"iat": c.cfg.Now().Unix(), "data": data,
	})
	if err != nil {
		return nil, err
	}
	return []byte(raw), nil
}

// DoSigned sends one payments-API request over the client's mTLS
// connection: body, when not nil, is sent as is (a signed JWT, see
// SignBody) with Content-Type application/jwt; idempotencyKey, when not
// empty, as x-idempotency-key. A 2xx answer must be a signed JWT: it is
// verified (signature by the holder's JWKS, iss, aud = the client's
// organisation, iat, jti) and returned. A non-2xx answer is an *APIError:
// a JSON ResponseError, or a signed 422 (verified first; Signed set).
// Verification failures are ErrInvalidSignedResponse.
func (c *Client) DoSigned(ctx context.Context, method, u, token, idempotencyKey string, body []byte) (*SignedAnswer, error) {
	h := http.Header{}
	h.Set("Accept", JWTContentType+", application/json")
	if idempotencyKey != "" {
		h.Set(HeaderIdempotencyKey, idempotencyKey)
	}
	ct := ""
	if body != nil {
		ct = JWTContentType
	}
	resp, err := c.send(ctx, method, u, ct, body, token, h)
	if err != nil {
		return nil, fmt.Errorf("fapi: %s %s: %w", method, u, err)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if !isJWT(resp.Header) {
		if ok {
			return nil, fmt.Errorf("%w: %s %s: HTTP %d with Content-Type %q, not a signed JWT", ErrUnexpectedResponse, method, u,
				resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return nil, apiError(method, u, resp)
	}
	ans, err := c.VerifySignedAnswer(ctx, resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s (HTTP %d): %w", method, u, resp.StatusCode, err)
	}
	ans.StatusCode, ans.Header, ans.InteractionID = resp.StatusCode, resp.Header, resp.InteractionID
	ans.Replayed = resp.Header.Get("x-idempotency-replayed") == "true"
	if !ok {
		e := apiError(method, u, &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: ans.Payload, InteractionID: resp.InteractionID})
		e.Signed = true
		return nil, e
	}
	return ans, nil
}

func isJWT(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == JWTContentType
}

// VerifySignedAnswer verifies a signed answer of the payments API: a
// compact PS256 JWS with a kid of the holder's JWKS (discovery's jwks_uri,
// refetched on an unknown kid; no embedded keys), aud naming
// Config.OrganisationID, iss = Config.HolderOrganisationID when set, iat
// within Config.ClockSkew and a jti. Failures are ErrInvalidSignedResponse.
func (c *Client) VerifySignedAnswer(ctx context.Context, body []byte) (*SignedAnswer, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSignedResponse, fmt.Sprintf(format, args...))
	}
	raw := strings.TrimSpace(string(body))
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		return nil, bad("not a PS256 JWS: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, bad("%d signatures, want 1", len(jws.Signatures))
	}
	hd := jws.Signatures[0].Protected
	if hd.KeyID == "" {
		return nil, bad("no kid in the header")
	}
	if err := noEmbeddedKeys(raw); err != nil {
		return nil, bad("%v", err)
	}
	key, err := c.keys.verificationKey(ctx, hd.KeyID)
	if err != nil {
		return nil, bad("%v", err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, bad("signature: %v", err)
	}
	var cl struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		JTI string          `json:"jti"`
		Iat *float64        `json:"iat"`
	}
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, bad("payload is not a JSON object: %v", err)
	}
	ans := &SignedAnswer{JWS: []byte(raw), Payload: payload, Issuer: cl.Iss, JTI: cl.JTI}
	var one string
	if json.Unmarshal(cl.Aud, &one) == nil {
		ans.Audience = []string{one}
	} else if json.Unmarshal(cl.Aud, &ans.Audience) != nil {
		return nil, bad("aud is neither a string nor an array of strings")
	}
	if org := c.cfg.OrganisationID; !slices.Contains(ans.Audience, org) {
		return nil, bad("aud %q does not name the client's organisation %s", ans.Audience, org)
	}
	if want := c.cfg.HolderOrganisationID; want != "" && cl.Iss != want {
		return nil, bad("iss %q, want the holder's organisation %s", clip(cl.Iss, 100), want)
	}
	if cl.Iss == "" {
		return nil, bad("no iss")
	}
	if cl.JTI == "" {
		return nil, bad("no jti")
	}
	if cl.Iat == nil {
		return nil, bad("no iat")
	}
	ans.IssuedAt = time.Unix(int64(*cl.Iat), 0).UTC()
	if d := c.cfg.Now().Sub(ans.IssuedAt); d > c.cfg.ClockSkew || d < -c.cfg.ClockSkew {
		return nil, bad("iat %s is more than %s from now", ans.IssuedAt.Format(time.RFC3339), c.cfg.ClockSkew)
	}
	return ans, nil
}

// signedCall signs data (when not nil) for the endpoint, sends it, checks
// the status and decodes the answer's data claim into out.
func (c *Client) signedCall(ctx context.Context, method, path, token, idemKey string, data any, want int, out any) (*SignedAnswer, error) {
	u, err := c.paymentsURL(path)
	if err != nil {
		return nil, err
	}
	var body []byte
	if data != nil {
		if body, err = c.SignBody(u, data); err != nil {
			return nil, err
		}
	}
	ans, err := c.DoSigned(ctx, method, u, token, idemKey, body)
	if err != nil {
		return nil, err
	}
	if ans.StatusCode != want {
		return nil, fmt.Errorf("%w: %s %s: HTTP %d, want %d", ErrUnexpectedResponse, method, u, ans.StatusCode, want)
	}
	var doc struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(ans.Payload, &doc); err != nil || len(doc.Data) == 0 || string(doc.Data) == "null" {
		return nil, fmt.Errorf("%w: %s %s: the answer has no data", ErrUnexpectedResponse, method, u)
	}
	if err := json.Unmarshal(doc.Data, out); err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnexpectedResponse, method, u, err)
	}
	return ans, nil
}

func idemKeyOrNew(k string) string {
	if k == "" {
		return uuid.NewString()
	}
	return k
}

func (c *Client) consentAnswer(ctx context.Context, method, path, token, idemKey string, data any, want int) (PaymentConsent, error) {
	var pc PaymentConsent
	ans, err := c.signedCall(ctx, method, path, token, idemKey, data, want, &pc)
	if err != nil {
		return PaymentConsent{}, err
	}
	if pc.ConsentID == "" || pc.Status == "" {
		return PaymentConsent{}, fmt.Errorf("%w: %s %s: not a payment consent", ErrUnexpectedResponse, method, path)
	}
	pc.Answer = ans
	return pc, nil
}

// CreatePaymentConsent creates a payment consent (POST
// /payments/v4/consents) with a client_credentials token carrying the
// "payments" scope. The body is signed (SignBody). idempotencyKey is sent
// as x-idempotency-key: keep it to retry the same request safely (same key
// and data replay the original answer; other data is refused with 422
// ERRO_IDEMPOTENCIA); "" sends a fresh UUID. Errors are *APIError (the
// 422s signed and verified) or ErrInvalidSignedResponse.
func (c *Client) CreatePaymentConsent(ctx context.Context, token, idempotencyKey string, req PaymentConsentRequest) (PaymentConsent, error) {
	return c.consentAnswer(ctx, http.MethodPost, "/consents", token, idemKeyOrNew(idempotencyKey), req, http.StatusCreated)
}

// GetPaymentConsent reads a payment consent (GET
// /payments/v4/consents/{consentId}) with a client_credentials token.
func (c *Client) GetPaymentConsent(ctx context.Context, token, consentID string) (PaymentConsent, error) {
	return c.consentAnswer(ctx, http.MethodGet, "/consents/"+url.PathEscape(consentID), token, "", nil, http.StatusOK)
}

// InitiatePixPayments initiates the payments of an authorised consent
// (POST /pix/payments) with the authorization_code token of that consent
// (scope "payments consent:<urn>"): one item for an immediate payment, one
// per date of a schedule. idempotencyKey as in CreatePaymentConsent.
func (c *Client) InitiatePixPayments(ctx context.Context, token, idempotencyKey string, items []PixPaymentRequest) ([]PixPayment, error) {
	var ps []PixPayment
	ans, err := c.signedCall(ctx, http.MethodPost, "/pix/payments", token, idemKeyOrNew(idempotencyKey), items, http.StatusCreated, &ps)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].PaymentID == "" || ps[i].Status == "" {
			return nil, fmt.Errorf("%w: POST /pix/payments: item %d is not a payment", ErrUnexpectedResponse, i)
		}
		ps[i].Answer = ans
	}
	return ps, nil
}

func (c *Client) paymentAnswer(ctx context.Context, method, paymentID, token string, data any) (PixPayment, error) {
	var p PixPayment
	ans, err := c.signedCall(ctx, method, "/pix/payments/"+url.PathEscape(paymentID), token, "", data, http.StatusOK, &p)
	if err != nil {
		return PixPayment{}, err
	}
	if p.PaymentID == "" || p.Status == "" {
		return PixPayment{}, fmt.Errorf("%w: %s /pix/payments/%s: not a payment", ErrUnexpectedResponse, method, paymentID)
	}
	p.Answer = ans
	return p, nil
}

// GetPixPayment reads a Pix payment (GET /pix/payments/{paymentId}) with a
// client_credentials token: poll it to follow RCVD → ACCP → ACPD → ACSC.
func (c *Client) GetPixPayment(ctx context.Context, token, paymentID string) (PixPayment, error) {
	return c.paymentAnswer(ctx, http.MethodGet, paymentID, token, nil)
}

type cancelRequest struct {
	Status       string `json:"status"`
	Cancellation struct {
		CancelledBy Party `json:"cancelledBy"`
	} `json:"cancellation"`
}

func newCancel(cancelledBy Party) cancelRequest {
	r := cancelRequest{Status: PixCancelled}
	r.Cancellation.CancelledBy = cancelledBy
	return r
}

// CancelPixPayment cancels a payment (PATCH /pix/payments/{paymentId},
// status CANC) with a client_credentials token; cancelledBy is the
// customer who asked (CPF). The holder allows it only from PDNG or SCHD
// (422 PAGAMENTO_NAO_PERMITE_CANCELAMENTO otherwise).
func (c *Client) CancelPixPayment(ctx context.Context, token, paymentID string, cancelledBy Party) (PixPayment, error) {
	return c.paymentAnswer(ctx, http.MethodPatch, paymentID, token, newCancel(cancelledBy))
}

// CancelConsentPixPayments cancels every cancellable payment of a consent
// (PATCH /pix/payments/consents/{consentId}) with a client_credentials
// token; idempotencyKey as in CreatePaymentConsent.
func (c *Client) CancelConsentPixPayments(ctx context.Context, token, idempotencyKey, consentID string, cancelledBy Party) ([]CancelledPayment, error) {
	var out []CancelledPayment
	_, err := c.signedCall(ctx, http.MethodPatch, "/pix/payments/consents/"+url.PathEscape(consentID), token,
		idemKeyOrNew(idempotencyKey), newCancel(cancelledBy), http.StatusOK, &out)
	if err != nil {
		return nil, err
	}
	return out, nil
}
