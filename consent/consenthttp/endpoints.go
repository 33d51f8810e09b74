package consenthttp

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ofp-dev/ofp/consent"
)

// create serves POST /consents.
func (h *Handler) create(rq *request) {
	clientID, ok := h.caller(rq)
	if !ok {
		return
	}
	body, ok := h.readJSONBody(rq)
	if !ok {
		return
	}
	req, err := parseCreateConsent(body)
	if err != nil {
		h.fail(rq, badRequest(err.Error()))
		return
	}
	perms, apiErr := h.checkCreate(rq, req)
	if apiErr != nil {
		h.fail(rq, apiErr)
		return
	}
	actor := consent.AuditActor{Who: "tpp:" + clientID, ClientID: clientID, InteractionID: rq.interactionID, Reason: "POST /consents"}
	var created consent.Consent
	for attempt := 0; ; attempt++ {
		id, err := consent.NewID(h.opts.Institution)
		if err != nil {
			h.internal(rq, "new consent id", err)
			return
		}
		created, err = h.store.Create(rq.r.Context(), consent.Consent{
			ID: id, Permissions: perms, LoggedUser: req.LoggedUser, BusinessEntity: req.BusinessEntity,
			ClientID: clientID, ExpirationDateTime: req.Expiration,
		}, actor)
		if errors.Is(err, consent.ErrAlreadyExists) && attempt < 2 {
			continue
		}
		if err != nil {
			h.internal(rq, "create consent", err)
			return
		}
		break
	}
	h.writeJSON(rq, http.StatusCreated, consentResponse{
		Data:  toConsentData(created, false),
		Links: linksSelf{Self: h.selfURL(rq, consentPath(created.ID))},
		Meta:  meta{RequestDateTime: fmtTime(rq.at)},
	})
}

// checkCreate applies the business rules of consent creation (422s) and
// returns the permissions to store (those of offered products).
func (h *Handler) checkCreate(rq *request, req createRequest) ([]string, *apiError) {
	var personal, business bool
	for _, p := range req.Permissions {
		switch prod, _ := consent.ProductOf(p); prod {
		case consent.ProductCustomersPersonal:
			personal = true
		case consent.ProductCustomersBusiness:
			business = true
		}
	}
	if personal && business {
		return nil, unprocessable(codePFPJTogether, "Permissões PF e PJ em conjunto",
			"CUSTOMERS_PERSONAL_* and CUSTOMERS_BUSINESS_* permissions cannot be requested in the same consent")
	}
	if business && req.BusinessEntity == nil {
		return nil, unprocessable(codePJInfoMissing, "Informações PJ não informadas",
			"CUSTOMERS_BUSINESS_* permissions require data.businessEntity")
	}
	if personal && req.BusinessEntity != nil {
		return nil, unprocessable(codePJPermissions, "Permissões PJ incorretas",
			"a consent with data.businessEntity cannot carry CUSTOMERS_PERSONAL_* permissions")
	}
	if groups, missingResources := consent.IncompleteGroups(req.Permissions); len(groups) > 0 || missingResources {
		detail := "every permission group must be requested whole, RESOURCES_READ included"
		if len(groups) > 0 {
			detail = "incomplete permission groups: " + strings.Join(groups, ", ") + "; " + detail
		}
		return nil, unprocessable(codeBadCombination, "Combinação de permissões incorreta", detail)
	}
	if e := h.checkNewExpiration(rq, req.Expiration); e != nil {
		return nil, e
	}
	perms, functional := consent.KeepOffered(req.Permissions, h.offered)
	if !functional {
		return nil, unprocessable(codeNoFunctional, "Sem permissões funcionais restantes",
			"this institution offers none of the products requested")
	}
	return perms, nil
}

// get serves GET /consents/{consentId}.
func (h *Handler) get(rq *request, id string) {
	clientID, ok := h.caller(rq)
	if !ok {
		return
	}
	c, ok := h.load(rq, id, clientID)
	if !ok {
		return
	}
	h.writeJSON(rq, http.StatusOK, consentResponse{
		Data:  toConsentData(c, true),
		Links: linksSelf{Self: h.selfURL(rq, consentPath(c.ID))},
		Meta:  meta{RequestDateTime: fmtTime(rq.at)},
	})
}

// delete serves DELETE /consents/{consentId}: the receiver revokes the
// consent (AWAITING_AUTHORISATION or AUTHORISED → REJECTED by TPP).
func (h *Handler) delete(rq *request, id string) {
	clientID, ok := h.caller(rq)
	if !ok {
		return
	}
	c, ok := h.load(rq, id, clientID)
	if !ok {
		return
	}
	rejected := unprocessable(codeAlreadyRejected, "Consentimento em status rejeitado",
		"the consent is already REJECTED and cannot be revoked again")
	if c.Status == consent.StatusRejected {
		h.fail(rq, rejected)
		return
	}
	_, err := h.store.ApplyEvent(rq.r.Context(), id, consent.EventRevokeByTPP, consent.AuditActor{
		Who: "tpp:" + clientID, ClientID: clientID, InteractionID: rq.interactionID, Reason: "DELETE /consents/{consentId}",
	})
	var illegal *consent.IllegalTransitionError
	switch {
	case err == nil:
		h.revokeTokens(rq, id)
		rq.w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &illegal):
		h.fail(rq, rejected)
	default:
		h.internal(rq, "revoke consent", err)
	}
}

// extend serves POST /consents/{consentId}/extends.
func (h *Handler) extend(rq *request, id string) {
	clientID, ok := h.caller(rq)
	if !ok {
		return
	}
	ip := rq.r.Header.Get("x-fapi-customer-ip-address")
	if ip == "" || len(ip) > 100 {
		h.fail(rq, &apiError{Status: http.StatusBadRequest, Code: codeMissingParameter, Title: "Cabeçalho obrigatório ausente",
			Detail: "x-fapi-customer-ip-address is required on /extends (1 to 100 characters)"})
		return
	}
	ua := rq.r.Header.Get("x-customer-user-agent")
	if len(ua) > 255 || !userAgentPattern.MatchString(ua) {
		h.fail(rq, &apiError{Status: http.StatusBadRequest, Code: codeMissingParameter, Title: "Cabeçalho obrigatório ausente",
			Detail: "x-customer-user-agent is required on /extends (1 to 255 characters, no surrounding spaces)"})
		return
	}
	body, ok := h.readJSONBody(rq)
	if !ok {
		return
	}
	req, err := parseExtendConsent(body)
	if err != nil {
		h.fail(rq, badRequest(err.Error()))
		return
	}
	c, ok := h.load(rq, id, clientID)
	if !ok {
		return
	}
	invalidState := unprocessable(codeInvalidConsentState, "Estado inválido do consentimento",
		"O consentimento informado não pode ser renovado sem redirecionamento porque está em um estado que não permite a renovação.")
	if c.Status != consent.StatusAuthorised {
		h.fail(rq, invalidState)
		return
	}
	if e := checkExtender(c, req); e != nil {
		h.fail(rq, e)
		return
	}
	if e := h.checkExtendExpiration(rq, c, req); e != nil {
		h.fail(rq, e)
		return
	}
	updated, _, err := h.store.Extend(rq.r.Context(), id, consent.Extension{
		ExpirationDateTime: req.Expiration, LoggedUser: req.LoggedUser, BusinessEntity: req.BusinessEntity,
		RequestDateTime: rq.at, CustomerIPAddress: ip, CustomerUserAgent: ua,
	}, consent.AuditActor{Who: "user:" + req.LoggedUser.Document.Identification, ClientID: clientID,
		InteractionID: rq.interactionID, Reason: "POST /consents/{consentId}/extends"})
	var (
		illegal *consent.IllegalTransitionError
		pre     *consent.PreconditionError
	)
	switch {
	case err == nil:
	case errors.As(err, &illegal):
		h.fail(rq, invalidState)
		return
	case errors.As(err, &pre):
		if req.Expiration != nil && !req.Expiration.After(h.now()) {
			h.fail(rq, invalidExpiration())
		} else {
			h.fail(rq, invalidState)
		}
		return
	default:
		h.internal(rq, "extend consent", err)
		return
	}
	h.writeJSON(rq, http.StatusCreated, consentResponse{
		Data:  toConsentData(updated, false),
		Links: linksSelf{Self: h.selfURL(rq, consentPath(updated.ID)+"/extends")},
		Meta:  meta{RequestDateTime: fmtTime(rq.at)},
	})
}

// checkExtender: for a personal (PF) consent only the creating loggedUser may
// renew; for a business (PJ) consent any user may, for the same
// businessEntity. Failures are security-layer refusals (403), as the
// Consents guidance ("Orientações – [DC] Consentimento") requires.
func checkExtender(c consent.Consent, req extendRequest) *apiError {
	forbidden := func(detail string) *apiError {
		return &apiError{Status: http.StatusForbidden, Code: codeForbidden, Title: "Usuário não autorizado a renovar", Detail: detail}
	}
	if c.BusinessEntity == nil {
		if req.BusinessEntity != nil {
			return forbidden("data.businessEntity is not part of this personal consent")
		}
		if req.LoggedUser.Document.Identification != c.LoggedUser.Document.Identification {
			return forbidden("only the loggedUser who created a personal consent may renew it")
		}
		return nil
	}
	if req.BusinessEntity == nil || req.BusinessEntity.Document.Identification != c.BusinessEntity.Document.Identification {
		return forbidden("data.businessEntity must be the business entity of this consent")
	}
	return nil
}

func invalidExpiration() *apiError {
	return unprocessable(codeInvalidExpiration, "Data de expiração inválida",
		"O consentimento informado não pode ser renovado pois a nova data de expiração não segue a convenção do ecossistema.")
}

// extensions serves GET /consents/{consentId}/extensions, newest first.
func (h *Handler) extensions(rq *request, id string) {
	clientID, ok := h.caller(rq)
	if !ok {
		return
	}
	page, size, apiErr := pageParams(rq.r.URL.Query())
	if apiErr != nil {
		h.fail(rq, apiErr)
		return
	}
	c, ok := h.load(rq, id, clientID)
	if !ok {
		return
	}
	all, err := h.store.Extensions(rq.r.Context(), c.ID)
	if err != nil {
		h.internal(rq, "list extensions", err)
		return
	}
	total := len(all)
	pages := (total + size - 1) / size
	data := []extensionData{}
	if from := (page - 1) * size; from < total {
		to := min(from+size, total)
		for _, e := range all[from:to] {
			data = append(data, toExtensionData(e))
		}
	}
	base := h.selfURL(rq, consentPath(c.ID)+"/extensions")
	pageURL := func(p int) string { return fmt.Sprintf("%s?page=%d&page-size=%d", base, p, size) }
	l := links{Self: pageURL(page)}
	if page > 1 {
		l.First, l.Prev = pageURL(1), pageURL(min(page-1, max(pages, 1)))
	}
	if page < pages {
		l.Next, l.Last = pageURL(page+1), pageURL(pages)
	}
	h.writeJSON(rq, http.StatusOK, extensionsResponse{
		Data: data, Links: l,
		Meta: metaPaged{TotalRecords: total, TotalPages: pages, RequestDateTime: fmtTime(rq.at)},
	})
}

// pageParams reads page (default 1) and page-size (default 25; values
// below 25 count as 25, as the spec says; above 1000 is a 400).
func pageParams(q url.Values) (page, size int, e *apiError) {
	page, size = 1, 25
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 2147483647 {
			return 0, 0, badRequest("page must be an integer from 1")
		}
		page = n
	}
	if v := q.Get("page-size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n > 1000 {
			return 0, 0, badRequest("page-size must be an integer up to 1000")
		}
		size = max(n, 25)
	}
	return page, size, nil
}
