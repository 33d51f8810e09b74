package login

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConsentPageShowsThePayment(t *testing.T) {
	p, err := NewPages()
	require.NoError(t, err)
	brand := Brand{Name: "Banco", Colour: DefaultColour}
	page := ConsentPage{Brand: brand, Action: "/a", CSRF: "c", ClientName: "Loja <X>", CustomerName: "Ana",
		Groups:   Describe([]string{"PAYMENTS_INITIATE"}),
		Accounts: []AccountChoice{{ID: "acc-1", Label: "Conta 1"}, {ID: "acc-2", Label: "Conta 2"}}, NeedAccounts: true, SingleAccount: true,
		Expires: time.Date(2026, 11, 26, 15, 4, 0, 0, time.UTC),
		Payment: &Payment{Amount: "1234.56", Currency: "BRL", CreditorName: "Maria <Recebedora>", CreditorDocument: "52998224725",
			Proxy: "maria@example.com", LocalInstrument: "DICT",
			CreditorAccount: PaymentAccount{ISPB: "12345678", Branch: "0001", Number: "9876543", Type: "CACC"},
			Dates:           []time.Time{time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}}}
	rec := httptest.NewRecorder()
	require.NoError(t, p.Consent(rec, 200, page))
	body := rec.Body.String()
	require.Contains(t, body, "Revise o pagamento")
	require.NotContains(t, body, "Revise o compartilhamento")
	require.Contains(t, body, `data-amount="1234.56"`)
	require.Contains(t, body, `<dd class="amount">R$ 1.234,56</dd>`)
	require.Contains(t, body, "Maria &lt;Recebedora&gt;", "the payee's name, escaped")
	require.Contains(t, body, "CPF ***.982.247-**")
	require.NotContains(t, body, "52998224725", "a payee's CPF is never shown whole")
	require.Contains(t, body, "maria@example.com")
	require.Contains(t, body, "ISPB 12345678 · agência 0001 · conta 9876543 (conta corrente)")
	require.Contains(t, body, `<span class="date">26/11/2026</span>`)
	require.Contains(t, body, "Autorize até 26/11/2026 12:04 (horário de Brasília)")
	require.Contains(t, body, `type="radio" name="resource" value="acc-2"`)
	require.Contains(t, body, "Autorizar pagamento")
	require.NotContains(t, strings.ToLower(body), "<script")

	// A recurring schedule lists its dates; a CNPJ payee is shown whole.
	page.Payment.Scheduled = true
	page.Payment.CreditorDocument = "11222333000181"
	page.Payment.Dates = []time.Time{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}
	page.Payment.Note = "Mensalidade"
	rec = httptest.NewRecorder()
	require.NoError(t, p.Consent(rec, 200, page))
	body = rec.Body.String()
	require.Contains(t, body, "Agendados para")
	require.Contains(t, body, "2 pagamentos")
	require.Contains(t, body, `<span class="date">01/12/2026</span>, <span class="date">08/12/2026</span>`)
	require.Contains(t, body, "CNPJ 11.222.333/0001-81")
	require.Contains(t, body, "Mensalidade")

	// The initiator named the account to pay from: the page names it; when
	// the customer has no such account, only a refusal is offered.
	page.Payment.DebtorAccount = &PaymentAccount{ISPB: "87654321", Branch: "3001", Number: "10000000008", Type: "CACC"}
	page.Accounts = []AccountChoice{{ID: "acc-1", Label: "Conta 1", Checked: true}}
	rec = httptest.NewRecorder()
	require.NoError(t, p.Consent(rec, 200, page))
	body = rec.Body.String()
	require.Contains(t, body, `<dd id="debtor">ISPB 87654321 · agência 3001 · conta 10000000008 (conta corrente)</dd>`)
	require.Contains(t, body, `value="acc-1" required checked`)
	require.Contains(t, body, `value="approve"`)
	page.Accounts = nil
	rec = httptest.NewRecorder()
	require.NoError(t, p.Consent(rec, 200, page))
	body = rec.Body.String()
	require.Contains(t, body, `id="no-debtor"`)
	require.NotContains(t, body, `value="approve"`)
	require.Contains(t, body, `value="deny"`)
	page.Payment.DebtorAccount = nil

	// A data-sharing consent page is unchanged: no payment section.
	page.Payment = nil
	rec = httptest.NewRecorder()
	require.NoError(t, p.Consent(rec, 200, page))
	require.NotContains(t, rec.Body.String(), `id="payment"`)
	require.Contains(t, rec.Body.String(), "Revise o compartilhamento")
}
