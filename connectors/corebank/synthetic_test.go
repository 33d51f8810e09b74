package corebank

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckDigits(t *testing.T) {
	// Real, published examples.
	require.True(t, ValidCNPJ("00000000000191")) // Banco do Brasil
	require.True(t, ValidCNPJ("60701190000104")) // Itaú Unibanco
	require.True(t, ValidCPF("52998224725"))
	require.False(t, ValidCPF("52998224726"))
	require.False(t, ValidCPF("11111111111"))
	require.False(t, ValidCPF("5299822472"))
	require.False(t, ValidCNPJ("00000000000192"))
	require.False(t, ValidCNPJ("1111111111111a"))
	require.Equal(t, "52998224725", cpfFromBase(529982247))
}

// TestCustomers: 10,000 customers by default, PF and PJ, valid and unique
// documents, and FindByDocument inverts Customer for every one of them.
func TestCustomers(t *testing.T) {
	s := newTestCore(t, 42)
	require.Equal(t, 10000, s.Len())
	require.Equal(t, 8000, s.PFCount())
	cpfs := map[string]int{}
	cnpjs := map[string]int{}
	ids := map[string]bool{}
	represented := 0
	for i := range s.Len() {
		c := s.Customer(i)
		require.False(t, ids[c.ID], "duplicate id %s", c.ID)
		ids[c.ID] = true
		require.True(t, ValidCPF(c.CPF), "customer %d: CPF %s", i, c.CPF)
		require.NotEmpty(t, c.Name)
		switch {
		case i < s.PFCount():
			require.Equal(t, PF, c.Type)
			require.Empty(t, c.CNPJ)
			_, dup := cpfs[c.CPF]
			require.False(t, dup, "duplicate CPF %s", c.CPF)
			cpfs[c.CPF] = i
			represented += len(c.Businesses)
		default:
			require.Equal(t, PJ, c.Type)
			require.True(t, ValidCNPJ(c.CNPJ), "customer %d: CNPJ %s", i, c.CNPJ)
			require.Equal(t, "0001", c.CNPJ[8:12])
			_, dup := cnpjs[c.CNPJ]
			require.False(t, dup, "duplicate CNPJ %s", c.CNPJ)
			cnpjs[c.CNPJ] = i
			require.NotEmpty(t, c.RepresentativeName)
		}
		got, err := s.FindByDocument(c.CPF, c.CNPJ)
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	require.Equal(t, s.Len()-s.PFCount(), represented, "every company has exactly one representative among the PF customers")

	// The representative of a company is a PF customer who lists it.
	pj := s.Customer(9000)
	rep, err := s.FindByDocument(pj.CPF, "")
	require.NoError(t, err)
	require.Equal(t, []string{pj.CNPJ}, rep.Businesses)
	require.Equal(t, pj.RepresentativeName, rep.Name)

	// Wrong representative, unknown documents, malformed documents.
	_, err = s.FindByDocument(s.Customer(1).CPF, pj.CNPJ)
	if s.Customer(1).CPF != pj.CPF {
		require.ErrorIs(t, err, ErrNotRepresentative)
	}
	unknown := 0
	for base := uint64(123456780); base < 123456800; base++ {
		cpf := cpfFromBase(base)
		if _, ok := cpfs[cpf]; ok {
			continue
		}
		_, err := s.FindByDocument(cpf, "")
		require.ErrorIs(t, err, ErrCustomerNotFound)
		unknown++
	}
	require.Positive(t, unknown)
	for _, bad := range []string{"", "123", "52998224726", "11111111111", "abcdefghijk"} {
		_, err := s.FindByDocument(bad, "")
		require.ErrorIs(t, err, ErrCustomerNotFound, bad)
	}
	_, err = s.FindByDocument(pj.CPF, cnpjFromRoot(mustUint(pj.CNPJ[:8]), 2))
	require.ErrorIs(t, err, ErrCustomerNotFound, "a branch CNPJ is not a customer")

	_, err = s.LookupCustomer(context.Background(), pj.Owner())
	require.NoError(t, err)
	require.Panics(t, func() { s.Customer(s.Len()) })
}

func TestOptions(t *testing.T) {
	_, err := NewSynthetic(Options{CompanyCNPJ: "12345678000100"})
	require.Error(t, err)
	_, err = NewSynthetic(Options{CompeCode: "12"})
	require.Error(t, err)
	_, err = NewSynthetic(Options{BusinessPercent: 60})
	require.Error(t, err)
	s, err := NewSynthetic(Options{Customers: 50, BusinessPercent: -1})
	require.NoError(t, err)
	require.Equal(t, 50, s.PFCount())
	big, err := NewSynthetic(Options{Customers: 1_000_000})
	require.NoError(t, err)
	c := big.Customer(999_999)
	got, err := big.FindByDocument(c.CPF, c.CNPJ)
	require.NoError(t, err)
	require.Equal(t, c, got)
}

// snapshot renders everything the core knows about a few customers.
func snapshot(t *testing.T, s *Synthetic, idx []int) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	add := func(v any, err error) {
		require.NoError(t, err)
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		b.Write(raw)
		b.WriteByte('\n')
	}
	for _, i := range idx {
		c := s.Customer(i)
		add(c, nil)
		o := c.Owner()
		accts, err := s.Accounts(ctx, o)
		add(accts, err)
		for _, a := range accts {
			add(s.Account(ctx, o, a.AccountID))
			add(s.AccountBalances(ctx, o, a.AccountID))
			add(s.AccountOverdraftLimits(ctx, o, a.AccountID))
			add(s.AccountTransactions(ctx, o, a.AccountID, AccountTransactionQuery{PageRequest: PageRequest{PageSize: 1000}}))
		}
		cards, err := s.CreditCardAccounts(ctx, o)
		add(cards, err)
		for _, cc := range cards {
			add(s.CreditCardAccount(ctx, o, cc.CreditCardAccountID))
			add(s.CreditCardLimits(ctx, o, cc.CreditCardAccountID))
			add(s.CreditCardBills(ctx, o, cc.CreditCardAccountID, BillQuery{}))
			add(s.CreditCardTransactions(ctx, o, cc.CreditCardAccountID, CardTransactionQuery{PageRequest: PageRequest{PageSize: 1000}}))
		}
		if c.Type == PF {
			add(s.PersonalIdentifications(ctx, o))
			add(s.PersonalQualifications(ctx, o))
			add(s.PersonalFinancialRelations(ctx, o))
		} else {
			add(s.BusinessIdentifications(ctx, o))
			add(s.BusinessQualifications(ctx, o))
			add(s.BusinessFinancialRelations(ctx, o))
		}
	}
	return b.String()
}

func TestDeterminism(t *testing.T) {
	idx := []int{0, 1, 17, 4321, 7999, 8000, 9999}
	a := snapshot(t, newTestCore(t, 42), idx)
	b := snapshot(t, newTestCore(t, 42), idx)
	require.Equal(t, a, b, "same seed, same data")
	require.Greater(t, len(a), 100_000, "the snapshot covers transactions")

	c := snapshot(t, newTestCore(t, 43), idx)
	require.NotEqual(t, a, c)
	s42, s43 := newTestCore(t, 42), newTestCore(t, 43)
	for _, i := range idx {
		require.NotEqual(t, s42.Customer(i).CPF, s43.Customer(i).CPF, "customer %d keeps its CPF across seeds", i)
		require.NotEqual(t, s42.Customer(i).ID, s43.Customer(i).ID)
	}

	// A day's transactions do not change when the clock moves on: only
	// the window slides.
	later, err := NewSynthetic(Options{Seed: 42, Now: func() time.Time { return testNow.AddDate(0, 0, 20) }})
	require.NoError(t, err)
	early := newTestCore(t, 42)
	c0 := early.Customer(3).Owner()
	accts, err := early.Accounts(context.Background(), c0)
	require.NoError(t, err)
	q := AccountTransactionQuery{Booking: DateRange{From: testNow.AddDate(0, -2, 0), To: testNow.AddDate(0, 0, -1)}, PageRequest: PageRequest{PageSize: 1000}}
	p1, err := early.AccountTransactions(context.Background(), c0, accts[0].AccountID, q)
	require.NoError(t, err)
	p2, err := later.AccountTransactions(context.Background(), c0, accts[0].AccountID, q)
	require.NoError(t, err)
	require.Equal(t, p1, p2)
}

// TestAccountTransactions: order, window, ids, pagination and filters.
func TestAccountTransactions(t *testing.T) {
	s := newTestCore(t, 5)
	ctx := context.Background()
	first := testNow.AddDate(-1, 0, 0).Truncate(24 * time.Hour)
	seenTypes := map[string]bool{}
	for _, i := range []int{2, 40, 333, 5000, 8001, 8500, 9998} {
		o := s.Customer(i).Owner()
		accts, err := s.Accounts(ctx, o)
		require.NoError(t, err)
		for _, a := range accts {
			seenTypes[a.Type] = true
			all := fetchAll(t, s, o, a.AccountID, AccountTransactionQuery{})
			require.Len(t, all.Items, all.TotalRecords)
			require.Positive(t, all.TotalRecords, "account %s has no transactions", a.AccountID)
			ids := map[string]bool{}
			var prev time.Time
			for _, tx := range all.Items {
				at, err := time.Parse("2006-01-02T15:04:05.000Z", tx.TransactionDateTime)
				require.NoError(t, err)
				require.True(t, at.After(prev), "not strictly increasing: %s after %s", tx.TransactionDateTime, prev)
				prev = at
				require.False(t, at.Before(first), "older than 12 months: %s", tx.TransactionDateTime)
				require.False(t, at.After(testNow.Truncate(24*time.Hour).Add(24*time.Hour)), "after today: %s", tx.TransactionDateTime)
				require.False(t, ids[tx.TransactionID])
				ids[tx.TransactionID] = true
				if at.After(testNow) {
					require.Equal(t, "LANCAMENTO_FUTURO", tx.CompletedAuthorisedPaymentType)
				} else {
					require.Equal(t, "TRANSACAO_EFETIVADA", tx.CompletedAuthorisedPaymentType)
				}
				requireDecimal(t, tx.TransactionAmount.Amount, false)
			}

			// Pages of 25 concatenate to the full list.
			var joined []AccountTransaction
			for p := 1; ; p++ {
				pg, err := s.AccountTransactions(ctx, o, a.AccountID, AccountTransactionQuery{PageRequest: PageRequest{Page: p}})
				require.NoError(t, err)
				require.Equal(t, all.TotalRecords, pg.TotalRecords)
				require.Equal(t, 25, pg.PageSize)
				joined = append(joined, pg.Items...)
				if !pg.HasNext() {
					require.Equal(t, pg.TotalPages, p)
					break
				}
				require.Len(t, pg.Items, 25)
			}
			require.Equal(t, all.Items, joined)

			// Credit/debit filter partitions the list.
			cr := fetchAll(t, s, o, a.AccountID, AccountTransactionQuery{CreditDebit: "CREDITO"})
			db := fetchAll(t, s, o, a.AccountID, AccountTransactionQuery{CreditDebit: "DEBITO"})
			require.Equal(t, all.TotalRecords, cr.TotalRecords+db.TotalRecords)
			for _, tx := range cr.Items {
				require.Equal(t, "CREDITO", tx.CreditDebitType)
			}
			for _, tx := range db.Items {
				require.Equal(t, "DEBITO", tx.CreditDebitType)
			}
			// Page 2 of the filtered list starts where page 1 ended.
			p2, err := s.AccountTransactions(ctx, o, a.AccountID, AccountTransactionQuery{CreditDebit: "DEBITO", PageRequest: PageRequest{Page: 2, PageSize: 10}})
			require.NoError(t, err)
			if db.TotalRecords > 10 {
				require.Equal(t, db.Items[10:min(20, len(db.Items))], p2.Items)
			}

			// A booking-date range selects exactly its days.
			from, to := testNow.AddDate(0, -3, 0), testNow.AddDate(0, -2, 0)
			rg, err := s.AccountTransactions(ctx, o, a.AccountID, AccountTransactionQuery{Booking: DateRange{From: from, To: to}, PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			want := 0
			for _, tx := range all.Items {
				d := tx.TransactionDateTime[:10]
				if d >= from.Format(time.DateOnly) && d <= to.Format(time.DateOnly) {
					want++
				}
			}
			require.Equal(t, want, rg.TotalRecords)
		}
	}
	require.True(t, seenTypes[AccountChecking] && seenTypes[AccountSavings] && seenTypes[AccountPrepaid], "%v", seenTypes)

	// Every type of the spec's enum shows up across customers.
	types := map[string]bool{}
	for i := 0; i < s.Len(); i += 400 {
		o := s.Customer(i).Owner()
		accts, _ := s.Accounts(ctx, o)
		for _, a := range accts {
			pg, err := s.AccountTransactions(ctx, o, a.AccountID, AccountTransactionQuery{PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			for _, tx := range pg.Items {
				types[tx.Type] = true
			}
		}
	}
	for _, typ := range []string{"PIX", "TED", "DOC", "TRANSFERENCIA_MESMA_INSTITUICAO", "BOLETO", "CONVENIO_ARRECADACAO",
		"PACOTE_TARIFA_SERVICOS", "TARIFA_SERVICOS_AVULSOS", "FOLHA_PAGAMENTO", "DEPOSITO", "SAQUE", "CARTAO",
		"ENCARGOS_JUROS_CHEQUE_ESPECIAL", "RENDIMENTO_APLIC_FINANCEIRA", "RESGATE_APLIC_FINANCEIRA", "OPERACAO_CREDITO", "OUTROS"} {
		require.True(t, types[typ], "no %s transaction generated", typ)
	}
}

// fetchAll reads every page of 1000.
func fetchAll(t *testing.T, s *Synthetic, o Owner, id string, q AccountTransactionQuery) Page[AccountTransaction] {
	t.Helper()
	var out Page[AccountTransaction]
	for p := 1; ; p++ {
		q.PageRequest = PageRequest{Page: p, PageSize: 1000}
		pg, err := s.AccountTransactions(context.Background(), o, id, q)
		require.NoError(t, err)
		out.Items = append(out.Items, pg.Items...)
		out.TotalRecords, out.TotalPages = pg.TotalRecords, pg.TotalPages
		if !pg.HasNext() {
			return out
		}
	}
}

func TestQueriesAndOwnership(t *testing.T) {
	s := newTestCore(t, 5)
	ctx := context.Background()
	alice, bob := s.Customer(10).Owner(), s.Customer(11).Owner()
	aAccts, err := s.Accounts(ctx, alice)
	require.NoError(t, err)
	id := aAccts[0].AccountID

	// Another customer's account is not found, whatever the method.
	_, err = s.Account(ctx, bob, id)
	require.ErrorIs(t, err, ErrResourceNotFound)
	_, err = s.AccountBalances(ctx, bob, id)
	require.ErrorIs(t, err, ErrResourceNotFound)
	_, err = s.AccountTransactions(ctx, bob, id, AccountTransactionQuery{})
	require.ErrorIs(t, err, ErrResourceNotFound)
	_, err = s.Account(ctx, alice, "nope")
	require.ErrorIs(t, err, ErrResourceNotFound)
	_, err = s.Accounts(ctx, Owner{CPF: "52998224725"})
	if !errors.Is(err, ErrCustomerNotFound) {
		t.Fatalf("unknown CPF: %v", err)
	}

	_, err = s.AccountTransactions(ctx, alice, id, AccountTransactionQuery{CreditDebit: "BOTH"})
	require.ErrorIs(t, err, ErrBadQuery)
	_, err = s.AccountTransactions(ctx, alice, id, AccountTransactionQuery{Booking: DateRange{From: testNow, To: testNow.AddDate(0, 0, -1)}})
	require.ErrorIs(t, err, ErrBadQuery)
	// A range outside the history is empty, not an error.
	pg, err := s.AccountTransactions(ctx, alice, id, AccountTransactionQuery{Booking: DateRange{From: testNow.AddDate(-3, 0, 0), To: testNow.AddDate(-2, 0, 0)}})
	require.NoError(t, err)
	require.Zero(t, pg.TotalRecords)
	require.Zero(t, pg.TotalPages)
	require.NotNil(t, pg.Items)
	// Page size is capped; page 0 means 1.
	pg, err = s.AccountTransactions(ctx, alice, id, AccountTransactionQuery{PageRequest: PageRequest{Page: 0, PageSize: 5000}})
	require.NoError(t, err)
	require.Equal(t, MaxPageSize, pg.PageSize)
	require.Equal(t, 1, pg.Page)

	// Person type of the customers API.
	_, err = s.BusinessIdentifications(ctx, alice)
	require.ErrorIs(t, err, ErrWrongPersonType)
	pj := s.Customer(9500).Owner()
	_, err = s.PersonalQualifications(ctx, pj)
	require.ErrorIs(t, err, ErrWrongPersonType)
	_, err = s.BusinessIdentifications(ctx, Owner{CPF: s.Customer(12).CPF, CNPJ: pj.CNPJ})
	require.ErrorIs(t, err, ErrNotRepresentative)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Accounts(cctx, alice)
	require.ErrorIs(t, err, context.Canceled)
}

// TestCustomerDataConsistency: the customers API and the accounts API
// describe the same relationship.
func TestCustomerDataConsistency(t *testing.T) {
	s := newTestCore(t, 9)
	ctx := context.Background()
	pf := s.Customer(77)
	fr, err := s.PersonalFinancialRelations(ctx, pf.Owner())
	require.NoError(t, err)
	accts, err := s.Accounts(ctx, pf.Owner())
	require.NoError(t, err)
	require.Len(t, fr.Accounts, len(accts))
	for i, a := range accts {
		require.Equal(t, a.Number, fr.Accounts[i].Number)
		require.Contains(t, fr.ProductsServicesType, a.Type)
	}
	ids, err := s.PersonalIdentifications(ctx, pf.Owner())
	require.NoError(t, err)
	require.Equal(t, pf.CPF, ids[0].Documents.CPFNumber)
	require.Equal(t, pf.Name, ids[0].CivilName)
	require.Equal(t, pf.ID, ids[0].PersonalID)

	pj := s.Customer(8123)
	bid, err := s.BusinessIdentifications(ctx, pj.Owner())
	require.NoError(t, err)
	require.Equal(t, pj.CNPJ, bid[0].CNPJNumber)
	require.Equal(t, pj.CPF, bid[0].Parties[0].DocumentNumber)
	bfr, err := s.BusinessFinancialRelations(ctx, pj.Owner())
	require.NoError(t, err)
	require.Equal(t, pj.CPF, bfr.Procurators[0].CnpjCpfNumber)
}

// TestCreditCards: bills add up, transactions point at listed bills,
// filters and ownership.
func TestCreditCards(t *testing.T) {
	s := newTestCore(t, 11)
	ctx := context.Background()
	cardsSeen, intlSeen := 0, 0
	typesSeen := map[string]bool{}
	for i := 0; i < s.Len() && cardsSeen < 12; i += 131 {
		o := s.Customer(i).Owner()
		cards, err := s.CreditCardAccounts(ctx, o)
		require.NoError(t, err)
		for _, cc := range cards {
			cardsSeen++
			bills, err := s.CreditCardBills(ctx, o, cc.CreditCardAccountID, BillQuery{})
			require.NoError(t, err)
			require.GreaterOrEqual(t, bills.TotalRecords, 12, "12 months of bills")
			billIDs := map[string]CreditCardBill{}
			prevDue := ""
			for _, b := range bills.Items {
				require.Greater(t, b.DueDate, prevDue, "bills ordered by due date")
				prevDue = b.DueDate
				billIDs[b.BillID] = b
				txs, err := s.CreditCardBillTransactions(ctx, o, cc.CreditCardAccountID, b.BillID, CardTransactionQuery{PageRequest: PageRequest{PageSize: 1000}})
				require.NoError(t, err)
				sum := new(big.Rat)
				for _, tx := range txs.Items {
					require.Equal(t, b.BillID, tx.BillID)
					v, ok := new(big.Rat).SetString(tx.BrazilianAmount.Amount)
					require.True(t, ok)
					if tx.CreditDebitType == "CREDITO" {
						v.Neg(v)
					}
					sum.Add(sum, v)
				}
				for _, fc := range b.FinanceCharges {
					v, _ := new(big.Rat).SetString(fc.Amount)
					sum.Add(sum, v)
					intlSeen++
				}
				total, _ := new(big.Rat).SetString(b.BillTotalAmount.Amount)
				require.Zero(t, total.Cmp(sum), "bill %s total %s != transactions %s", b.BillID, b.BillTotalAmount.Amount, sum.FloatString(2))
			}
			all, err := s.CreditCardTransactions(ctx, o, cc.CreditCardAccountID, CardTransactionQuery{PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			var prev string
			for _, tx := range all.Items {
				require.Greater(t, tx.TransactionDateTime, prev)
				prev = tx.TransactionDateTime
				typesSeen[tx.TransactionType] = true
				if tx.BillID != "" {
					_, ok := billIDs[tx.BillID]
					require.True(t, ok, "transaction names an unlisted bill")
				}
				switch tx.TransactionType {
				case "PAGAMENTO":
					require.NotEmpty(t, tx.PaymentType)
					require.Positive(t, tx.PayeeMCC)
					if tx.PaymentType == "A_PRAZO" {
						require.GreaterOrEqual(t, tx.ChargeNumber, tx.ChargeIdentificator)
						require.Positive(t, tx.ChargeIdentificator)
					}
				case "TARIFA":
					require.NotEmpty(t, tx.FeeType)
				case "OPERACOES_CREDITO_CONTRATADAS_CARTAO":
					require.NotEmpty(t, tx.OtherCreditsType)
				}
			}
			// Filters.
			pay, err := s.CreditCardTransactions(ctx, o, cc.CreditCardAccountID, CardTransactionQuery{TransactionType: "PAGAMENTO", PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			for _, tx := range pay.Items {
				require.Equal(t, "PAGAMENTO", tx.TransactionType)
			}
			require.Less(t, pay.TotalRecords, all.TotalRecords+1)
			mcc, err := s.CreditCardTransactions(ctx, o, cc.CreditCardAccountID, CardTransactionQuery{PayeeMCC: 5411, PageRequest: PageRequest{PageSize: 1000}})
			require.NoError(t, err)
			for _, tx := range mcc.Items {
				require.Equal(t, 5411, tx.PayeeMCC)
			}
			lim, err := s.CreditCardLimits(ctx, o, cc.CreditCardAccountID)
			require.NoError(t, err)
			require.Equal(t, "LIMITE_CREDITO_TOTAL", lim[0].CreditLineLimitType)

			// Not someone else's.
			_, err = s.CreditCardBills(ctx, s.Customer(i+1).Owner(), cc.CreditCardAccountID, BillQuery{})
			require.ErrorIs(t, err, ErrResourceNotFound)
			_, err = s.CreditCardBillTransactions(ctx, o, cc.CreditCardAccountID, "no-such-bill", CardTransactionQuery{})
			require.ErrorIs(t, err, ErrResourceNotFound)
		}
	}
	require.Equal(t, 12, cardsSeen)
	require.Positive(t, intlSeen)
	for _, typ := range []string{"PAGAMENTO", "TARIFA", "OPERACOES_CREDITO_CONTRATADAS_CARTAO", "ESTORNO", "CASHBACK", "OUTROS"} {
		require.True(t, typesSeen[typ], "no %s card transaction", typ)
	}
	_, err := s.CreditCardTransactions(ctx, s.Customer(0).Owner(), "x", CardTransactionQuery{TransactionType: "COMPRA"})
	require.ErrorIs(t, err, ErrBadQuery)
}

func requireDecimal(t *testing.T, s string, signed bool) {
	t.Helper()
	pat := `^\d{1,15}\.\d{2}$`
	if signed {
		pat = `^-?\d{1,15}\.\d{2}$`
	}
	require.Regexp(t, pat, s)
}

func TestMoneyAndDates(t *testing.T) {
	require.Equal(t, "0.00", money(0))
	require.Equal(t, "0.05", money(5))
	require.Equal(t, "-12.30", money(-1230))
	require.Equal(t, "123456789.01", money(12345678901))
	for _, tm := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		d := dayOf(tm)
		require.Equal(t, tm.Format(time.DateOnly), formatDate(d))
		require.Equal(t, d, daysFromCivil(tm.Year(), int(tm.Month()), tm.Day()))
	}
	require.Equal(t, "2024-02-29T23:59:59.123Z", formatDateTimeMs(dayOf(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)), 86399123))
}

// Benchmarks: the holder API's hot paths.

func benchOwners(b *testing.B, s *Synthetic) ([]Owner, []string) {
	b.Helper()
	var owners []Owner
	var ids []string
	for i := 0; i < s.Len(); i += 37 {
		o := s.Customer(i).Owner()
		accts, err := s.Accounts(context.Background(), o)
		require.NoError(b, err)
		owners = append(owners, o)
		ids = append(ids, accts[0].AccountID)
	}
	return owners, ids
}

func BenchmarkAccountsList(b *testing.B) {
	s := newTestCore(b, 1)
	owners, _ := benchOwners(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Accounts(ctx, owners[i%len(owners)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTransactionsPage25: page 3 of 25 over a 3-month booking range
// (and, in the second case, the whole year).
func BenchmarkTransactionsPage25(b *testing.B) {
	s := newTestCore(b, 1)
	owners, ids := benchOwners(b, s)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    AccountTransactionQuery
	}{
		{"3months", AccountTransactionQuery{Booking: DateRange{From: testNow.AddDate(0, -3, 0), To: testNow}, PageRequest: PageRequest{Page: 3, PageSize: 25}}},
		{"12months", AccountTransactionQuery{PageRequest: PageRequest{Page: 3, PageSize: 25}}},
		{"12months-debits", AccountTransactionQuery{CreditDebit: "DEBITO", PageRequest: PageRequest{Page: 3, PageSize: 25}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := i % len(owners)
				if _, err := s.AccountTransactions(ctx, owners[k], ids[k], bc.q); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkFindByDocument(b *testing.B) {
	s := newTestCore(b, 1)
	c := s.Customer(9123)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.FindByDocument(c.CPF, c.CNPJ); err != nil {
			b.Fatal(err)
		}
	}
}
