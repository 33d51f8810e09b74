package paymentshttp

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent/payments"
)

var engines = []string{"sqlite", "postgres"}

func TestConsentCreateReadAndExpiry(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			r := e.do(call{method: "POST", path: BasePath + "/consents", data: consentBody(e.clock.Now(), "1234.56", nil), idemKey: "k-1"})
			require.Equal(t, http.StatusCreated, r.status)
			d := r.data()
			id := d["consentId"].(string)
			require.True(t, payments.IsConsentID(id))
			require.Equal(t, "AWAITING_AUTHORISATION", d["status"])
			require.Equal(t, "2026-03-10T12:05:00Z", d["expirationDateTime"])
			require.Equal(t, publicURL+BasePath+"/consents/"+id, r.body["links"].(map[string]any)["self"])

			r = e.do(call{method: "GET", path: BasePath + "/consents/" + id})
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "1234.56", r.data()["payment"].(map[string]any)["amount"])

			r = e.do(call{method: "GET", path: BasePath + "/consents/" + id, client: "client-b"})
			require.Equal(t, http.StatusForbidden, r.status, "another client's consent")
			r = e.do(call{method: "GET", path: BasePath + "/consents/urn:ofpbank:pay-00000000-0000-4000-8000-000000000000"})
			require.Equal(t, http.StatusNotFound, r.status)

			// Five minutes without authorisation: REJECTED on read.
			e.clock.Advance(5 * time.Minute)
			r = e.do(call{method: "GET", path: BasePath + "/consents/" + id})
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "REJECTED", r.data()["status"])
			require.Equal(t, "TEMPO_EXPIRADO_AUTORIZACAO", r.data()["rejectionReason"].(map[string]any)["code"])

			// A scheduled consent round-trips its schedule.
			sched := map[string]any{"weekly": map[string]any{"dayOfWeek": "SEXTA_FEIRA", "startDate": "2026-03-11", "quantity": 4}}
			r = e.do(call{method: "POST", path: BasePath + "/consents", data: consentBody(e.clock.Now(), "10.00", sched), idemKey: "k-2"})
			require.Equal(t, http.StatusCreated, r.status)
			require.Equal(t, map[string]any{"weekly": map[string]any{"dayOfWeek": "SEXTA_FEIRA", "startDate": "2026-03-11", "quantity": float64(4)}},
				r.data()["payment"].(map[string]any)["schedule"])
		})
	}
}

func TestConsentRefusals(t *testing.T) {
	e := newEnv(t, "sqlite")
	post := func(t *testing.T, data map[string]any) resp {
		return e.in(t).do(call{method: "POST", path: BasePath + "/consents", data: data, idemKey: uuid.NewString()})
	}
	yesterday := consentBody(e.clock.Now(), "1.00", nil)
	yesterday["payment"].(map[string]any)["date"] = "2026-03-09"
	noCreditor := consentBody(e.clock.Now(), "1.00", nil)
	delete(noCreditor, "creditor")
	badAmount := consentBody(e.clock.Now(), "1,00", nil)
	tooMany := consentBody(e.clock.Now(), "1.00", map[string]any{"custom": map[string]any{"dates": manyDates(61), "additionalInformation": "x"}})
	farAway := consentBody(e.clock.Now(), "1.00", map[string]any{"single": map[string]any{"date": "2028-03-11"}})
	manuWithProxy := consentBody(e.clock.Now(), "1.00", nil)
	manuWithProxy["payment"].(map[string]any)["details"].(map[string]any)["localInstrument"] = "MANU"

	cases := []struct {
		name string
		data map[string]any
		code string
	}{
		{"date in the past", yesterday, "DATA_PAGAMENTO_INVALIDA"},
		{"missing creditor", noCreditor, "PARAMETRO_NAO_INFORMADO"},
		{"malformed amount", badAmount, "PARAMETRO_INVALIDO"},
		{"61 scheduled payments", tooMany, "PARAMETRO_INVALIDO"},
		{"beyond D+730", farAway, "DATA_PAGAMENTO_INVALIDA"},
		{"MANU with a proxy", manuWithProxy, "DETALHE_PAGAMENTO_INVALIDO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, tc.data)
			require.Equal(t, http.StatusUnprocessableEntity, r.status, "%v", r.body)
			require.Equal(t, tc.code, r.errorCode())
		})
	}
	r := post(t, noCreditor)
	require.Contains(t, r.body["errors"].([]any)[0].(map[string]any)["detail"], "creditor")
}

func manyDates(n int) []string {
	var out []string
	d := payments.Date{Year: 2026, Month: 3, Day: 12}
	for i := range n {
		out = append(out, d.AddDays(i).String())
	}
	return out
}

func TestSignedBodyAndHeaderRefusals(t *testing.T) {
	e := newEnv(t, "sqlite")
	path := BasePath + "/consents"
	data := consentBody(e.clock.Now(), "1.00", nil)
	forged := forgedKey
	usedJTI := uuid.NewString()
	r := e.do(call{method: "POST", path: path, data: data, idemKey: "first", jti: usedJTI})
	require.Equal(t, http.StatusCreated, r.status)

	cases := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"bad signature", call{data: data, key: &forged}, 400, "BAD_SIGNATURE"},
		{"not a JWT", call{raw: []byte(`{"data":{}}`)}, 400, "BAD_SIGNATURE"},
		{"JSON content type", call{data: data, headers: map[string]string{"Content-Type": "application/json"}}, 415, "TIPO_MIDIA_NAO_SUPORTADO"},
		{"wrong aud", call{data: data, aud: publicURL + BasePath + "/pix/payments"}, 403, "INVALID_CLIENT"},
		{"wrong iss", call{data: data, iss: "org-b"}, 403, "INVALID_CLIENT"},
		{"iat out of window", call{data: data, iat: e.clock.Now().Add(-2 * time.Minute)}, 403, "INVALID_CLIENT"},
		{"replayed jti", call{data: data, jti: usedJTI}, 403, "INVALID_CLIENT"},
		{"no idempotency key", call{data: data, idemKey: "-"}, 400, "PARAMETRO_NAO_INFORMADO"},
		{"idempotency key of 41 characters", call{data: data, idemKey: strings.Repeat("k", 41)}, 400, "PARAMETRO_INVALIDO"},
		{"authorization_code token", call{data: data, grant: GrantAuthorizationCode}, 403, "ACESSO_NAO_PERMITIDO"},
		{"no payments scope", call{data: data, headers: map[string]string{"X-Test-Scopes": "openid accounts"}}, 403, "ACESSO_NAO_PERMITIDO"},
		{"no token", call{data: data, client: "nobody"}, 401, "UNAUTHORIZED"},
		{"no interaction id", call{data: data, headers: map[string]string{"x-fapi-interaction-id": ""}}, 400, "PARAMETRO_INVALIDO"},
		{"Accept text/html", call{data: data, headers: map[string]string{"Accept": "text/html"}}, 406, "NAO_ACEITO"},
		{"DELETE", call{method: "DELETE"}, 405, "METODO_NAO_PERMITIDO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if c.method == "" {
				c.method = "POST"
			}
			c.path = path
			switch c.idemKey {
			case "":
				c.idemKey = uuid.NewString()
			case "-":
				c.idemKey = ""
			}
			if c.client == "nobody" {
				// Sign as client-a, but present no token.
				c.key = ptr(clientKeys["client-a"])
				c.iss = "org-a"
			}
			r := e.in(t).do(c)
			require.Equal(t, tc.status, r.status, "%v", r.body)
			require.Equal(t, tc.code, r.errorCode())
			require.False(t, r.jwt, "errors other than 422 are JSON")
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestIdempotency(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			path := BasePath + "/consents"
			data := consentBody(e.clock.Now(), "50.00", nil)
			first := e.do(call{method: "POST", path: path, data: data, idemKey: "idem-1"})
			require.Equal(t, http.StatusCreated, first.status)
			id := first.data()["consentId"]

			// Same key, same content (new jti and iat): the original result.
			e.clock.Advance(time.Minute)
			again := e.do(call{method: "POST", path: path, data: data, idemKey: "idem-1"})
			require.Equal(t, http.StatusCreated, again.status)
			require.True(t, again.replays)
			require.Equal(t, id, again.data()["consentId"])

			// ... showing the resource's current state.
			e.authorise(id.(string))
			again = e.do(call{method: "POST", path: path, data: data, idemKey: "idem-1"})
			require.Equal(t, "AUTHORISED", again.data()["status"])

			// Same key, other content: ERRO_IDEMPOTENCIA.
			other := consentBody(e.clock.Now(), "51.00", nil)
			r := e.do(call{method: "POST", path: path, data: other, idemKey: "idem-1"})
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			require.Equal(t, "ERRO_IDEMPOTENCIA", r.errorCode())

			// The key belongs to org-a: org-b may use it for its own request.
			r = e.do(call{method: "POST", path: path, data: other, idemKey: "idem-1", client: "client-b"})
			require.Equal(t, http.StatusCreated, r.status)
			require.NotEqual(t, id, r.data()["consentId"])
			// Another client of org-a shares org-a's keys: it gets org-a's answer
			// only if it owns the resource.
			r = e.do(call{method: "POST", path: path, data: data, idemKey: "idem-1", client: "client-a2"})
			require.Equal(t, http.StatusForbidden, r.status)

			// A 422 is remembered too.
			bad := consentBody(e.clock.Now(), "0.00", nil)
			r = e.do(call{method: "POST", path: path, data: bad, idemKey: "idem-2"})
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			require.Equal(t, "PARAMETRO_INVALIDO", r.errorCode())
			r = e.do(call{method: "POST", path: path, data: bad, idemKey: "idem-2"})
			require.True(t, r.replays)
			require.Equal(t, "PARAMETRO_INVALIDO", r.errorCode())
			r = e.do(call{method: "POST", path: path, data: data, idemKey: "idem-2"})
			require.Equal(t, "ERRO_IDEMPOTENCIA", r.errorCode(), "fixing the content needs a new key")

			// After 24 hours the key is free again.
			e.clock.Advance(24 * time.Hour)
			r = e.do(call{method: "POST", path: path, data: consentBody(e.clock.Now(), "52.00", nil), idemKey: "idem-1"})
			require.Equal(t, http.StatusCreated, r.status)
			require.False(t, r.replays)
		})
	}
}

func TestPixPaymentInitiationAndConsumption(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			id := e.newConsent(consentBody(e.clock.Now(), "99.90", nil))

			// Not authorised yet.
			r := e.pay(id, []any{pixItem(e.clock.Now(), 1, "99.90")}, "p-0")
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			require.Equal(t, "CONSENTIMENTO_INVALIDO", r.errorCode())

			e.authorise(id)
			r = e.do(call{method: "POST", path: BasePath + "/pix/payments", data: []any{pixItem(e.clock.Now(), 1, "99.90")},
				consent: id, idemKey: "p-cc"})
			require.Equal(t, http.StatusForbidden, r.status, "a client_credentials token cannot initiate")

			// Diverging from the consent is refused.
			r = e.pay(id, []any{pixItem(e.clock.Now(), 1, "99.91")}, "p-1")
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			require.Equal(t, "PAGAMENTO_DIVERGENTE_CONSENTIMENTO", r.errorCode())
			r = e.pay(id, []any{map[string]any{"endToEndId": "bad"}}, "p-2")
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			require.Contains(t, []string{"PARAMETRO_NAO_INFORMADO", "PARAMETRO_INVALIDO"}, r.errorCode())

			kicks := e.kicks.Load()
			r = e.pay(id, []any{pixItem(e.clock.Now(), 1, "99.90")}, "p-3")
			require.Equal(t, http.StatusCreated, r.status, "%v", r.body)
			require.Equal(t, kicks+1, e.kicks.Load(), "the processor is woken up")
			items := r.dataList()
			require.Len(t, items, 1)
			p := items[0].(map[string]any)
			pid := p["paymentId"].(string)
			require.Equal(t, "RCVD", p["status"])
			require.Equal(t, id, p["consentId"])
			require.Equal(t, "123456", p["debtorAccount"].(map[string]any)["number"])

			g := e.do(call{method: "GET", path: BasePath + "/pix/payments/" + pid})
			require.Equal(t, http.StatusOK, g.status)
			require.Equal(t, pid, g.data()["paymentId"])
			g = e.do(call{method: "GET", path: BasePath + "/pix/payments/" + pid, client: "client-b"})
			require.Equal(t, http.StatusForbidden, g.status)
			g = e.do(call{method: "GET", path: BasePath + "/pix/payments/" + uuid.NewString()})
			require.Equal(t, http.StatusNotFound, g.status)

			c := e.do(call{method: "GET", path: BasePath + "/consents/" + id})
			require.Equal(t, "CONSUMED", c.data()["status"])

			// Replay with the same key: the same payment; a new key: consumed.
			r = e.pay(id, []any{pixItem(e.clock.Now(), 1, "99.90")}, "p-3")
			require.Equal(t, http.StatusCreated, r.status)
			require.Equal(t, pid, r.dataList()[0].(map[string]any)["paymentId"])
			r = e.pay(id, []any{pixItem(e.clock.Now(), 2, "99.90")}, "p-4")
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			require.Equal(t, "CONSENTIMENTO_INVALIDO", r.errorCode())

			// Consuming more than 60 minutes after authorisation fails.
			late := e.newConsent(consentBody(e.clock.Now(), "10.00", nil))
			e.authorise(late)
			e.clock.Advance(61 * time.Minute)
			r = e.pay(late, []any{pixItem(e.clock.Now(), 5, "10.00")}, "p-5")
			require.Equal(t, http.StatusUnprocessableEntity, r.status)
			require.Equal(t, "CONSENTIMENTO_INVALIDO", r.errorCode())
			c = e.do(call{method: "GET", path: BasePath + "/consents/" + late})
			require.Equal(t, "REJECTED", c.data()["status"])
			require.Equal(t, "TEMPO_EXPIRADO_CONSUMO", c.data()["rejectionReason"].(map[string]any)["code"])
		})
	}
}

func TestCancellation(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	start := payments.DateOf(e.clock.Now()).AddDays(2)
	sched := map[string]any{"daily": map[string]any{"startDate": start.String(), "quantity": 3}}
	id := e.newConsent(consentBody(e.clock.Now(), "20.00", sched))
	e.authorise(id)
	var items []any
	for i := range 3 {
		d := start.AddDays(i)
		items = append(items, pixItem(time.Date(d.Year, d.Month, d.Day, 15, 0, 0, 0, time.UTC), i, "20.00"))
	}
	r := e.pay(id, items, "sched-1")
	require.Equal(t, http.StatusCreated, r.status, "%v", r.body)
	var ids []string
	for _, it := range r.dataList() {
		ids = append(ids, it.(map[string]any)["paymentId"].(string))
	}
	require.Len(t, ids, 3)
	cancel := map[string]any{"status": "CANC", "cancellation": map[string]any{"cancelledBy": map[string]any{
		"document": map[string]any{"identification": "11111111111", "rel": "CPF"}}}}

	// RCVD cannot be cancelled.
	r = e.do(call{method: "PATCH", path: BasePath + "/pix/payments/" + ids[0], data: cancel})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, "PAGAMENTO_NAO_PERMITE_CANCELAMENTO", r.errorCode())
	for _, pid := range ids {
		_, err := e.store.ApplyPaymentEvent(ctx, pid, payments.PaymentRCVD, payments.PaymentEventSchedule, payments.PaymentChange{}, payments.Actor{Who: "test"})
		require.NoError(t, err)
	}
	r = e.do(call{method: "PATCH", path: BasePath + "/pix/payments/" + ids[0], data: map[string]any{"status": "ACSC"}})
	require.Equal(t, http.StatusBadRequest, r.status, "only CANC with cancelledBy")
	r = e.do(call{method: "PATCH", path: BasePath + "/pix/payments/" + ids[0], data: cancel})
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, "CANC", r.data()["status"])
	require.Equal(t, "CANCELADO_AGENDAMENTO", r.data()["cancellation"].(map[string]any)["reason"])
	require.Equal(t, "INICIADORA", r.data()["cancellation"].(map[string]any)["cancelledFrom"])
	r = e.do(call{method: "PATCH", path: BasePath + "/pix/payments/" + ids[0], data: cancel})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, "PAGAMENTO_NAO_PERMITE_CANCELAMENTO", r.errorCode())
	r = e.do(call{method: "GET", path: BasePath + "/pix/payments/" + ids[0]})
	require.Equal(t, "CANC", r.data()["status"])

	// Cancel the rest through the consent.
	cpath := BasePath + "/pix/payments/consents/" + id
	r = e.do(call{method: "PATCH", path: cpath, data: cancel})
	require.Equal(t, http.StatusBadRequest, r.status, "x-idempotency-key is required here")
	r = e.do(call{method: "PATCH", path: cpath, data: cancel, idemKey: "cc-1", client: "client-b"})
	require.Equal(t, http.StatusForbidden, r.status)
	r = e.do(call{method: "PATCH", path: cpath, data: cancel, idemKey: "cc-1"})
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Len(t, r.dataList(), 2)
	r = e.do(call{method: "PATCH", path: cpath, data: cancel, idemKey: "cc-1"})
	require.True(t, r.replays)
	require.Len(t, r.dataList(), 2)
	r = e.do(call{method: "PATCH", path: cpath, data: cancel, idemKey: "cc-2"})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, "PAGAMENTO_NAO_PERMITE_CANCELAMENTO", r.errorCode())
	// ERRO_IDEMPOTENCIA is what the idempotency rules demand here, but this
	// endpoint's 422 enum in the spec only lists PAGAMENTO_NAO_PERMITE_CANCELAMENTO.
	other := map[string]any{"status": "CANC", "cancellation": map[string]any{"cancelledBy": map[string]any{
		"document": map[string]any{"identification": "22222222222", "rel": "CPF"}}}}
	r = e.do(call{method: "PATCH", path: cpath, data: other, idemKey: "cc-1", specLenient: true})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, "ERRO_IDEMPOTENCIA", r.errorCode())
	r = e.do(call{method: "PATCH", path: BasePath + "/pix/payments/consents/urn:ofpbank:pay-00000000-0000-4000-8000-000000000000", data: cancel, idemKey: "cc-3"})
	require.Equal(t, http.StatusNotFound, r.status)
	require.True(t, strings.HasPrefix(r.header.Get("x-v"), "4."))
}
