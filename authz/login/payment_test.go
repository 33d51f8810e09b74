package login

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFormatMoney(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"0.42", "BRL"}:                "R$ 0,42",
		{"1234.56", "BRL"}:             "R$ 1.234,56",
		{"100.00", "BRL"}:              "R$ 100,00",
		{"1000.00", ""}:                "R$ 1.000,00",
		{"0001000000.10", "BRL"}:       "R$ 1.000.000,10",
		{"9999999999999999.99", "BRL"}: "R$ 9.999.999.999.999.999,99",
		{"12.50", "USD"}:               "USD 12,50",
		// Not the spec's shape: shown as given, never rounded.
		{"1.5", "BRL"}:    "R$ 1.5",
		{"-3.00", "BRL"}:  "R$ -3.00",
		{"1e3", "BRL"}:    "R$ 1e3",
		{"12.345", "BRL"}: "R$ 12.345",
	} {
		require.Equal(t, want, FormatMoney(in[0], in[1]), "%v", in)
	}
}

func TestFormatDocument(t *testing.T) {
	require.Equal(t, "CPF ***.982.247-**", FormatDocument("52998224725"))
	require.Equal(t, "CNPJ 11.222.333/0001-81", FormatDocument("11222333000181"))
	for _, odd := range []string{"", "123", "5299822472a", "529.982.247-25"} {
		require.Equal(t, odd, FormatDocument(odd))
	}
}

func FuzzFormatMoney(f *testing.F) {
	for _, s := range []string{"0.42", "1234.56", "9999999999999999.99", "1.5", "", "0.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, amount string) {
		got := FormatMoney(amount, "BRL")
		require.True(t, strings.HasPrefix(got, "R$ "))
		if !moneyPattern.MatchString(amount) {
			require.Equal(t, "R$ "+amount, got)
			return
		}
		// The digits are the amount's, without leading zeros: nothing is
		// rounded or lost.
		digits := strings.NewReplacer(".", "", ",", "").Replace(strings.TrimPrefix(got, "R$ "))
		want := strings.TrimLeft(strings.Replace(amount, ".", "", 1), "0")
		require.Equal(t, strings.TrimLeft(want, "0"), strings.TrimLeft(digits, "0"))
		require.Equal(t, amount[len(amount)-2:], got[len(got)-2:])
	})
}

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
	require.Contains(t, body, "Autorize até 26/11/2026 15:04 UTC")
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
