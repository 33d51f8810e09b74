package paymentshttp

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/ofp-dev/ofp/consent/payments"
	"github.com/ofp-dev/ofp/ingest/apicalls"
)

// Endpoint names that scope idempotency keys.
const (
	endpointCreateConsent  = "POST /consents"
	endpointCreatePayments = "POST /pix/payments"
	endpointCancelConsent  = "PATCH /pix/payments/consents"
)

// replayFunc answers a replay of a successful outcome from its record.
type replayFunc func(rq *request, rec payments.IdempotencyRecord)

// beginIdem looks key up: a live record with the same content is replayed
// (a 422 as it was, a success with the resources' current state), one with
// other content is refused with 422 ERRO_IDEMPOTENCIA; handled reports
// that the answer was written. Otherwise it returns the record the
// operation must store.
func (h *Handler) beginIdem(rq *request, endpoint, key string, data json.RawMessage, replay replayFunc) (*payments.IdempotencyRecord, bool) {
	hash, err := hashData(data)
	if err != nil {
		h.rule(rq, &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "Parâmetro data não obedece às regras de formatação esperadas."})
		return nil, true
	}
	k := payments.IdempotencyKey{Endpoint: endpoint, OrgID: rq.caller.OrgID, Key: key}
	rec, found, err := h.store.LookupIdempotency(rq.r.Context(), k)
	if err != nil {
		h.internal(rq, "read idempotency key", err)
		return nil, true
	}
	if found {
		h.replayOrConflict(rq, rec, hash, replay)
		return nil, true
	}
	return &payments.IdempotencyRecord{IdempotencyKey: k, RequestHash: hash}, false
}

func (h *Handler) replayOrConflict(rq *request, rec payments.IdempotencyRecord, hash string, replay replayFunc) {
	if rec.RequestHash != hash {
		h.rule(rq, &payments.RuleError{Code: payments.CodeIdempotency, Detail: payments.IdempotencyDetail})
		return
	}
	rq.w.Header().Set("x-idempotency-replayed", "true")
	if rec.Error != nil {
		h.rule(rq, rec.Error)
		return
	}
	replay(rq, rec)
}

// raced answers after payments.ErrIdempotencyRace: a concurrent request
// with the same key committed first; replay its outcome.
func (h *Handler) raced(rq *request, idem *payments.IdempotencyRecord, replay replayFunc) {
	rec, found, err := h.store.LookupIdempotency(rq.r.Context(), idem.IdempotencyKey)
	if err != nil || !found {
		h.internal(rq, "replay after an idempotency race", errors.Join(err, errors.New("the winning record is not visible")))
		return
	}
	h.replayOrConflict(rq, rec, idem.RequestHash, replay)
}

// refuseRecorded records a 422 decided before the store was reached under
// the key, then answers it (or replays a concurrent winner).
func (h *Handler) refuseRecorded(rq *request, idem *payments.IdempotencyRecord, re *payments.RuleError, replay replayFunc) {
	idem.StatusCode, idem.Error = http.StatusUnprocessableEntity, re
	err := h.store.RecordIdempotent(rq.r.Context(), idem)
	switch {
	case errors.Is(err, payments.ErrIdempotencyRace):
		h.raced(rq, idem, replay)
	case err != nil:
		h.internal(rq, "record idempotency key", err)
	default:
		h.rule(rq, re)
	}
}

// ---- consents ----

func consentPath(id string) string {
	return BasePath + "/consents/" + (&url.URL{Path: id}).EscapedPath()
}

func paymentPath(id string) string { return BasePath + "/pix/payments/" + url.PathEscape(id) }

// recordConsent adds the consent's id and person type to the API-call record.
func recordConsent(rq *request, c payments.Consent) {
	call := apicalls.FromContext(rq.r.Context())
	call.Set("consentId", c.ID)
	if c.BusinessEntity != nil {
		call.Set("personType", "PJ")
	} else {
		call.Set("personType", "PF")
	}
}

func (h *Handler) createConsent(rq *request) {
	if !h.needGrant(rq, GrantClientCredentials) {
		return
	}
	key, ok := h.idemKey(rq)
	if !ok {
		return
	}
	claims, ok := h.signedBody(rq)
	if !ok {
		return
	}
	replay := func(rq *request, rec payments.IdempotencyRecord) {
		if len(rec.ResourceIDs) != 1 {
			h.internal(rq, "replay consent creation", errors.New("record without the consent id"))
			return
		}
		c, err := h.store.ReadConsent(rq.r.Context(), rec.ResourceIDs[0], rq.caller.ClientID, rq.actor())
		if err != nil {
			h.storeErr(rq, "consent "+rec.ResourceIDs[0], err)
			return
		}
		recordConsent(rq, c)
		h.answer(rq, http.StatusCreated, h.envelope(rq, consentPath(c.ID), toConsentData(c)))
	}
	idem, handled := h.beginIdem(rq, endpointCreateConsent, key, claims.Data, replay)
	if handled {
		return
	}
	if err := checkShape("CreatePaymentConsent", claims.Data); err != nil {
		h.refuseShape(rq, idem, err, replay)
		return
	}
	var data consentRequest
	if err := json.Unmarshal(claims.Data, &data); err != nil {
		h.refuseRecorded(rq, idem, &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "Parâmetro data não obedece às regras de formatação esperadas."}, replay)
		return
	}
	id, err := payments.NewConsentID(h.opts.Institution)
	if err != nil {
		h.internal(rq, "consent id", err)
		return
	}
	req, err := toConsentRequest(data, id, rq.caller.ClientID, rq.caller.OrgID)
	if err != nil {
		h.refuseShape(rq, idem, err, replay)
		return
	}
	c, err := h.store.CreateConsent(rq.r.Context(), req, idem, rq.actor())
	switch {
	case err == nil:
		recordConsent(rq, c)
		h.answer(rq, http.StatusCreated, h.envelope(rq, consentPath(c.ID), toConsentData(c)))
	case errors.Is(err, payments.ErrIdempotencyRace):
		h.raced(rq, idem, replay)
	default:
		h.storeErr(rq, "consent", err)
	}
}

// refuseShape records and answers a shape error (a *payments.RuleError);
// anything else is internal.
func (h *Handler) refuseShape(rq *request, idem *payments.IdempotencyRecord, err error, replay replayFunc) {
	re, ok := payments.AsRuleError(err)
	if !ok {
		h.internal(rq, "check request shape", err)
		return
	}
	h.refuseRecorded(rq, idem, re, replay)
}

func (h *Handler) getConsent(rq *request, id string) {
	if !h.needGrant(rq, GrantClientCredentials) {
		return
	}
	if !payments.ValidConsentID(id) {
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Requisição malformada", "consentId must be a URN like urn:bank:C1DD33123"})
		return
	}
	c, err := h.store.ReadConsent(rq.r.Context(), id, rq.caller.ClientID, rq.actor())
	if err != nil {
		h.storeErr(rq, "consent "+id, err)
		return
	}
	recordConsent(rq, c)
	h.answer(rq, http.StatusOK, h.envelope(rq, consentPath(c.ID), toConsentData(c)))
}

// ---- Pix payments ----

func (h *Handler) paymentsEnvelope(rq *request, ps []payments.Payment) envelope {
	data := make([]paymentData, len(ps))
	for i, p := range ps {
		data[i] = toPaymentData(p, false)
	}
	self := BasePath + "/pix/payments"
	if len(ps) > 0 {
		self = paymentPath(ps[0].ID) // LinkSinglePost: the first item of the answer
	}
	return h.envelope(rq, self, data)
}

func (h *Handler) createPayments(rq *request) {
	if !h.needGrant(rq, GrantAuthorizationCode) {
		return
	}
	if !payments.ValidConsentID(rq.caller.ConsentID) {
		h.fail(rq, apiError{http.StatusForbidden, codeForbidden, "Token sem consentimento",
			"the access token is not bound to a payment consent (consent:<urn> scope)"})
		return
	}
	key, ok := h.idemKey(rq)
	if !ok {
		return
	}
	claims, ok := h.signedBody(rq)
	if !ok {
		return
	}
	replay := func(rq *request, rec payments.IdempotencyRecord) {
		ps, err := h.store.GetPayments(rq.r.Context(), rec.ResourceIDs)
		if err != nil {
			h.storeErr(rq, "payments", err)
			return
		}
		for _, p := range ps {
			if p.ClientID != rq.caller.ClientID {
				h.storeErr(rq, "payment "+p.ID, payments.ErrOtherClient)
				return
			}
		}
		h.answer(rq, http.StatusCreated, h.paymentsEnvelope(rq, ps))
	}
	idem, handled := h.beginIdem(rq, endpointCreatePayments, key, claims.Data, replay)
	if handled {
		return
	}
	if err := checkShape("CreatePixPayment", claims.Data); err != nil {
		h.refuseShape(rq, idem, err, replay)
		return
	}
	var data []pixRequest
	if err := json.Unmarshal(claims.Data, &data); err != nil {
		h.refuseRecorded(rq, idem, &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "Parâmetro data não obedece às regras de formatação esperadas."}, replay)
		return
	}
	items := make([]payments.Payment, len(data))
	for i, d := range data {
		items[i] = d.payment()
	}
	ps, err := h.store.CreatePayments(rq.r.Context(), rq.caller.ConsentID, rq.caller.ClientID, items, idem, rq.actor())
	switch {
	case err == nil:
		if h.opts.PaymentsCreated != nil {
			h.opts.PaymentsCreated()
		}
		h.answer(rq, http.StatusCreated, h.paymentsEnvelope(rq, ps))
	case errors.Is(err, payments.ErrIdempotencyRace):
		h.raced(rq, idem, replay)
	case errors.Is(err, payments.ErrDuplicateEndToEnd):
		h.rule(rq, &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "endToEndId já utilizado em outro pagamento."})
	default:
		h.storeErr(rq, "consent "+rq.caller.ConsentID, err)
	}
}

func (h *Handler) getPayment(rq *request, id string) {
	if !h.needGrant(rq, GrantClientCredentials) {
		return
	}
	if !payments.ValidPaymentID(id) {
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Requisição malformada", "paymentId is malformed"})
		return
	}
	p, err := h.store.ReadPayment(rq.r.Context(), id, rq.caller.ClientID)
	if err != nil {
		h.storeErr(rq, "payment "+id, err)
		return
	}
	apicalls.FromContext(rq.r.Context()).Set("consentId", p.ConsentID)
	h.answer(rq, http.StatusOK, h.envelope(rq, paymentPath(p.ID), toPaymentData(p, true)))
}

// cancellation reads a PatchPixPayment body; shape errors are 400 (the
// PATCH answers' 422 enum only has PAGAMENTO_NAO_PERMITE_CANCELAMENTO).
func (h *Handler) cancellation(rq *request, data json.RawMessage) (payments.Document, bool) {
	if err := checkShape("PatchPixPayment", data); err != nil {
		detail := "the body does not match PatchPixPayment"
		if re, ok := payments.AsRuleError(err); ok {
			detail = re.Detail
		}
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Requisição malformada", detail})
		return payments.Document{}, false
	}
	var p patchRequest
	if err := json.Unmarshal(data, &p); err != nil || p.Status != string(payments.PaymentCANC) {
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Requisição malformada", "data.status must be CANC"})
		return payments.Document{}, false
	}
	d := p.Cancellation.CancelledBy.Document
	return payments.Document{Identification: d.Identification, Rel: d.Rel}, true
}

func (h *Handler) cancelPayment(rq *request, id string) {
	if !h.needGrant(rq, GrantClientCredentials) {
		return
	}
	if !payments.ValidPaymentID(id) {
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Requisição malformada", "paymentId is malformed"})
		return
	}
	claims, ok := h.signedBody(rq)
	if !ok {
		return
	}
	by, ok := h.cancellation(rq, claims.Data)
	if !ok {
		return
	}
	p, err := h.store.CancelPayment(rq.r.Context(), id, rq.caller.ClientID, by, payments.CancelledFromInitiator, rq.actor())
	if err != nil {
		h.storeErr(rq, "payment "+id, err)
		return
	}
	h.answer(rq, http.StatusOK, h.envelope(rq, paymentPath(p.ID), toPaymentData(p, false)))
}

func (h *Handler) cancelConsentPayments(rq *request, consentID string) {
	if !h.needGrant(rq, GrantClientCredentials) {
		return
	}
	if !payments.ValidConsentID(consentID) {
		h.fail(rq, apiError{http.StatusBadRequest, codeInvalidParameter, "Requisição malformada", "consentId must be a URN like urn:bank:C1DD33123"})
		return
	}
	key, ok := h.idemKey(rq)
	if !ok {
		return
	}
	claims, ok := h.signedBody(rq)
	if !ok {
		return
	}
	self := BasePath + "/pix/payments/consents/" + (&url.URL{Path: consentID}).EscapedPath()
	answer := func(rq *request, ps []payments.Payment) {
		items := make([]patchConsentItem, len(ps))
		for i, p := range ps {
			items[i] = patchConsentItem{PaymentID: p.ID, StatusUpdateDateTime: fmtTime(p.StatusUpdateDateTime)}
		}
		h.answer(rq, http.StatusOK, h.envelope(rq, self, items))
	}
	replay := func(rq *request, rec payments.IdempotencyRecord) {
		ps, err := h.store.GetPayments(rq.r.Context(), rec.ResourceIDs)
		if err != nil {
			h.storeErr(rq, "payments", err)
			return
		}
		answer(rq, ps)
	}
	idem, handled := h.beginIdem(rq, endpointCancelConsent, key, claims.Data, replay)
	if handled {
		return
	}
	by, ok := h.cancellation(rq, claims.Data)
	if !ok {
		return
	}
	ps, err := h.store.CancelConsentPayments(rq.r.Context(), consentID, rq.caller.ClientID, by, payments.CancelledFromInitiator, idem, rq.actor())
	switch {
	case err == nil:
		answer(rq, ps)
	case errors.Is(err, payments.ErrIdempotencyRace):
		h.raced(rq, idem, replay)
	default:
		h.storeErr(rq, "consent "+consentID, err)
	}
}
