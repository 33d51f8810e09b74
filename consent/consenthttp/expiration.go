package consenthttp

import (
	"time"

	"github.com/ofp-dev/ofp/consent"
)

// checkNewExpiration is the creation rule: a determined expirationDateTime
// must lie in the future and, with Options.MaxExpiration, not beyond it. nil
// (open-ended) is always allowed.
func (h *Handler) checkNewExpiration(rq *request, exp *time.Time) *apiError {
	if exp == nil {
		return nil
	}
	if !exp.After(rq.at) {
		return unprocessable(codeInvalidExpiration, "Data de expiração inválida",
			"data.expirationDateTime must be in the future; omit it for an open-ended consent")
	}
	if h.opts.MaxExpiration > 0 && exp.After(rq.at.Add(h.opts.MaxExpiration)) {
		return unprocessable(codeInvalidExpiration, "Data de expiração inválida",
			"data.expirationDateTime is beyond the longest validity this institution accepts; omit it for an open-ended consent")
	}
	return nil
}

// checkExtendExpiration is the renewal rule: a renewal always moves the end
// later. A determined new date must be in the future, after the current
// expirationDateTime (so an open-ended consent can only be renewed as
// open-ended) and within Options.MaxExpiration; an open-ended renewal is
// always allowed.
func (h *Handler) checkExtendExpiration(rq *request, c consent.Consent, req extendRequest) *apiError {
	exp := req.Expiration
	if exp == nil {
		return nil
	}
	if !exp.After(rq.at) || c.ExpirationDateTime == nil || !exp.After(*c.ExpirationDateTime) {
		return invalidExpiration()
	}
	if h.opts.MaxExpiration > 0 && exp.After(rq.at.Add(h.opts.MaxExpiration)) {
		return invalidExpiration()
	}
	return nil
}
