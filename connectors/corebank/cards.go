package corebank

import (
	"context"
	"fmt"
)

// card is one synthetic credit-card account.
type card struct {
	cust        int64
	business    bool
	ord         int
	key         uint64
	id          string
	name        string
	productType string
	network     string
	methods     []CardPaymentMethod
	dueDay      int
	limit       int64 // cents
	annualFee   int64 // monthly instalment of the annual fee, cents (0: none)
}

const closingLead = 7 // days between a bill's closing and its due date

func (s *Synthetic) cards(idx int64) []card {
	business := idx >= s.nPF
	base := mix(s.customerKey(idx), tagCards)
	r := newRNG(base)
	n := 0
	switch {
	case business && r.chance(50):
		n = 1
	case !business && r.chance(60):
		n = 1
		if r.chance(15) {
			n = 2
		}
	}
	out := make([]card, n)
	for ord := range n {
		key := mix(base, uint64(ord)+1)
		cr := newRNG(key)
		c := card{cust: idx, business: business, ord: ord, key: key}
		c.id = uuidLike(mix(key, 1), mix(key, 2))
		c.network = pick(&cr, []string{"VISA", "VISA", "MASTERCARD", "MASTERCARD", "ELO", "AMERICAN_EXPRESS", "HIPERCARD"})
		if business {
			c.productType = pick(&cr, []string{"EMPRESARIAL", "CORPORATIVO"})
			c.limit = cr.between(10, 200) * 1000_00
		} else {
			c.productType = pick(&cr, []string{"CLASSIC_NACIONAL", "GOLD", "GOLD", "PLATINUM", "BLACK", "INFINITE", "STANDARD_NACIONAL"})
			c.limit = cr.between(5, 300) * 100_00
		}
		c.name = s.opts.BrandName + " " + productLabel(c.productType) + " " + networkLabel(c.network)
		if len(c.name) > 50 {
			c.name = c.name[:50]
		}
		c.dueDay = pick(&cr, []int{5, 10, 15, 20, 25})
		if cr.chance(40) {
			c.annualFee = cr.between(15_00, 60_00)
		}
		nm := 1 + cr.intn(3)
		for i := range nm {
			var ident string
			if business {
				ident = fmt.Sprintf("PJ%06d-%d", idx%1_000_000, ord*4+i)
			} else {
				ident = cr.digits(4)
			}
			c.methods = append(c.methods, CardPaymentMethod{IdentificationNumber: ident, IsMultipleCreditCard: i == 0 && cr.chance(50)})
		}
		out[ord] = c
	}
	return out
}

func productLabel(p string) string {
	switch p {
	case "CLASSIC_NACIONAL":
		return "Classic"
	case "STANDARD_NACIONAL":
		return "Standard"
	case "GOLD":
		return "Gold"
	case "PLATINUM":
		return "Platinum"
	case "BLACK":
		return "Black"
	case "INFINITE":
		return "Infinite"
	case "EMPRESARIAL":
		return "Empresarial"
	case "CORPORATIVO":
		return "Corporativo"
	}
	return p
}

func networkLabel(n string) string {
	switch n {
	case "VISA":
		return "Visa"
	case "MASTERCARD":
		return "Mastercard"
	case "ELO":
		return "Elo"
	case "AMERICAN_EXPRESS":
		return "Amex"
	case "HIPERCARD":
		return "Hipercard"
	}
	return n
}

func (s *Synthetic) findCard(ctx context.Context, owner Owner, id string) (card, error) {
	if err := ctx.Err(); err != nil {
		return card{}, err
	}
	idx, err := s.resolve(owner)
	if err != nil {
		return card{}, err
	}
	for _, c := range s.cards(idx) {
		if c.id == id {
			return c, nil
		}
	}
	return card{}, ErrResourceNotFound
}

// CreditCardAccounts implements Core.
func (s *Synthetic) CreditCardAccounts(ctx context.Context, owner Owner) ([]CreditCardAccount, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idx, err := s.resolve(owner)
	if err != nil {
		return nil, err
	}
	cs := s.cards(idx)
	out := make([]CreditCardAccount, len(cs))
	for i, c := range cs {
		out[i] = CreditCardAccount{
			CreditCardAccountID: c.id, BrandName: s.opts.BrandName, CompanyCnpj: s.opts.CompanyCNPJ,
			Name: c.name, ProductType: c.productType, CreditCardNetwork: c.network,
		}
	}
	return out, nil
}

// CreditCardAccount implements Core.
func (s *Synthetic) CreditCardAccount(ctx context.Context, owner Owner, id string) (CreditCardAccountIdentification, error) {
	c, err := s.findCard(ctx, owner, id)
	if err != nil {
		return CreditCardAccountIdentification{}, err
	}
	return CreditCardAccountIdentification{
		Name: c.name, ProductType: c.productType, CreditCardNetwork: c.network,
		PaymentMethod: append([]CardPaymentMethod(nil), c.methods...),
	}, nil
}

// Card transaction kinds.
const (
	cPurchase uint8 = iota
	cPurchaseIntl
	cRefund
	cCashback
	cCreditOp
	cSMSFee
	cAdjust
	cAnnualFee
)

type ckind struct {
	typ    string
	credit bool
}

var ckinds = [...]ckind{
	cPurchase:     {"PAGAMENTO", false},
	cPurchaseIntl: {"PAGAMENTO", false},
	cRefund:       {"ESTORNO", true},
	cCashback:     {"CASHBACK", true},
	cCreditOp:     {"OPERACOES_CREDITO_CONTRATADAS_CARTAO", false},
	cSMSFee:       {"TARIFA", false},
	cAdjust:       {"OUTROS", false},
	cAnnualFee:    {"TARIFA", false},
}

var cardTable = []weighted{{cPurchase, 86}, {cPurchaseIntl, 4}, {cRefund, 3}, {cCashback, 2}, {cCreditOp, 1}, {cSMSFee, 2}, {cAdjust, 2}}

func (c *card) day(d int64) dayInfo {
	di := dayInfo{day: d, key: mix(mix(c.key, tagDay), uint64(d))}
	_, _, dd := civil(d)
	if c.annualFee > 0 && dd == 15 {
		di.fixed[0], di.nf = cAnnualFee, 1
	}
	h := mix(di.key, 0)
	if c.business {
		di.nr = int(h % 7)
	} else {
		di.nr = int(h % 4)
	}
	return di
}

type cTxHead struct {
	kind  uint8
	h     uint64
	mcc   int
	cents int64 // BRL
}

// head derives what filters and bill totals need, without strings.
func (c *card) head(di *dayInfo, k int) cTxHead {
	h := mix(di.key, uint64(k)+1)
	hd := cTxHead{h: h}
	if k < di.nf {
		hd.kind = di.fixed[k]
	} else {
		hd.kind = pickWeighted(cardTable, h>>8)
	}
	r := newRNG(h)
	// Purchases scale with the limit so that a month of spending uses
	// about 40 % of it (skewed draws average a quarter of their range).
	perDay := int64(2)
	if c.business {
		perDay = 4
	}
	top := max(c.limit/(perDay*15), 20_00)
	switch hd.kind {
	case cPurchase, cRefund:
		m := merchants[(h>>20)%uint64(len(merchants))]
		hd.mcc = m.MCC
		hd.cents = skewed(&r, 5_00, top)
	case cPurchaseIntl:
		m := internationalMerchants[(h>>20)%uint64(len(internationalMerchants))]
		hd.mcc = m.MCC
		hd.cents = skewed(&r, 10_00, 2*top)
	case cCashback:
		hd.cents = skewed(&r, 1_00, 50_00)
	case cCreditOp:
		hd.cents = skewed(&r, 100_00, max(c.limit/10, 200_00))
	case cSMSFee:
		hd.cents = 4_90
	case cAdjust:
		hd.cents = skewed(&r, 1_00, 30_00)
	case cAnnualFee:
		hd.cents = c.annualFee
	}
	hd.cents = max(hd.cents, 1_00)
	return hd
}

// signed is the transaction's effect on the bill: debits add, credits
// subtract.
func (hd cTxHead) signed() int64 {
	if ckinds[hd.kind].credit {
		return -hd.cents
	}
	return hd.cents
}

// bill is one monthly statement: it holds the transactions of the days
// (prevClosing, closing].
type bill struct {
	month                     int // year*12 + month-1 of the due date
	due, closing, prevClosing int64
	id                        string
}

func (c *card) bill(month int) bill {
	y, m := month/12, month%12+1
	due := daysFromCivil(y, m, c.dueDay)
	py, pm := (month-1)/12, (month-1)%12+1
	return bill{
		month: month, due: due, closing: due - closingLead,
		prevClosing: daysFromCivil(py, pm, c.dueDay) - closingLead,
		id:          uuidLike(mix(c.key, 0xb111+uint64(month)), mix(c.key, uint64(month))),
	}
}

// billOfDay is the bill whose cycle holds day d (it may still be open).
func (c *card) billOfDay(d int64) bill {
	y, m, _ := civil(d)
	b := c.bill(y*12 + m - 1)
	// With an early due day the closing falls in the previous month, so
	// the end of a month can belong to the bill due two months later.
	for d > b.closing {
		b = c.bill(b.month + 1)
	}
	return b
}

// closedBills lists the bills that closed within the window, oldest first.
func (s *Synthetic) closedBills(c *card) []bill {
	first, today := s.window()
	y, m, _ := civil(today)
	var out []bill
	for month := y*12 + m; ; month-- {
		b := c.bill(month)
		if b.closing < first {
			break
		}
		if b.closing <= today {
			out = append(out, b)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// sumDays adds up the signed amounts and international purchases of days
// [from, to] within the window.
func (s *Synthetic) sumDays(c *card, from, to int64) (total, intl int64) {
	first, last := s.window()
	for d := max(from, first); d <= min(to, last); d++ {
		di := c.day(d)
		for k := range di.nf + di.nr {
			hd := c.head(&di, k)
			total += hd.signed()
			if hd.kind == cPurchaseIntl {
				intl += hd.cents
			}
		}
	}
	return total, intl
}

// iofOf is the IOF on international purchases (4.38 %).
func iofOf(intl int64) int64 { return intl * 438 / 10000 }

func (s *Synthetic) billData(c *card, b bill) CreditCardBill {
	sum, intl := s.sumDays(c, b.prevClosing+1, b.closing)
	iof := iofOf(intl)
	total := sum + iof
	out := CreditCardBill{
		BillID: b.id, DueDate: formatDate(b.due), BillTotalAmount: brl(total),
		BillMinimumAmount: brl(max(0, total*15/100)), Payments: []BillPayment{},
	}
	if iof > 0 {
		out.FinanceCharges = []BillFinanceCharge{{Type: "IOF", Amount: money(iof), Currency: "BRL"}}
	}
	if b.due <= s.today() && total > 0 {
		r := newRNG(mix(c.key, 0xfa7+uint64(b.month)))
		p := BillPayment{
			ValueType: "VALOR_PAGAMENTO_FATURA_REALIZADO", PaymentDate: formatDate(b.due - r.between(0, 3)),
			PaymentMode: pick(&r, []string{"DEBITO_CONTA_CORRENTE", "DEBITO_CONTA_CORRENTE", "BOLETO_BANCARIO", "PIX"}),
			Amount:      money(total), Currency: "BRL",
		}
		if r.chance(10) {
			p.ValueType = "OUTRO_VALOR_PAGO_FATURA"
			p.Amount = money(max(total*15/100, 1) + r.between(0, total*85/100))
		}
		out.Payments = append(out.Payments, p)
	}
	return out
}

// CreditCardBills implements Core. Bills are ordered by due date, oldest
// first; the history holds every bill that closed in the last 12 months.
func (s *Synthetic) CreditCardBills(ctx context.Context, owner Owner, id string, q BillQuery) (Page[CreditCardBill], error) {
	c, err := s.findCard(ctx, owner, id)
	if err != nil {
		return Page[CreditCardBill]{}, err
	}
	if !q.Due.From.IsZero() && !q.Due.To.IsZero() && dayOf(q.Due.From.UTC()) > dayOf(q.Due.To.UTC()) {
		return Page[CreditCardBill]{}, fmt.Errorf("%w: from date after to date", ErrBadQuery)
	}
	var sel []bill
	for _, b := range s.closedBills(&c) {
		if !q.Due.From.IsZero() && b.due < dayOf(q.Due.From.UTC()) {
			continue
		}
		if !q.Due.To.IsZero() && b.due > dayOf(q.Due.To.UTC()) {
			continue
		}
		sel = append(sel, b)
	}
	pg := paginate(sel, q.PageRequest)
	out := make([]CreditCardBill, len(pg.Items))
	for i, b := range pg.Items {
		out[i] = s.billData(&c, b)
	}
	return newPage(out, pg.Page, pg.PageSize, pg.TotalRecords), nil
}

// CreditCardLimits implements Core: the total limit (consolidated over
// every card of the account) and the cash-withdrawal line.
func (s *Synthetic) CreditCardLimits(ctx context.Context, owner Owner, id string) ([]CreditCardLimit, error) {
	c, err := s.findCard(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	today := s.today()
	open := c.billOfDay(today)
	used, intl := s.sumDays(&c, open.prevClosing+1, today)
	used += iofOf(intl)
	if last := c.bill(open.month - 1); last.due > today {
		// Closed but not yet due: still uses the limit.
		t, in := s.sumDays(&c, last.prevClosing+1, last.closing)
		used += t + iofOf(in)
	}
	cash := c.limit / 5
	ident := c.methods[0].IdentificationNumber
	return []CreditCardLimit{
		{
			CreditLineLimitType: "LIMITE_CREDITO_TOTAL", ConsolidationType: "CONSOLIDADO", IdentificationNumber: ident,
			IsLimitFlexible: false, LimitAmount: brlp(c.limit), UsedAmount: brl(used), AvailableAmount: brlp(c.limit - used),
		},
		{
			CreditLineLimitType: "LIMITE_CREDITO_MODALIDADE_OPERACAO", ConsolidationType: "CONSOLIDADO", IdentificationNumber: ident,
			LineName: "SAQUE_CREDITO_BRASIL", IsLimitFlexible: false, LimitAmount: brlp(cash), UsedAmount: brl(0), AvailableAmount: brlp(min(cash, c.limit-used)),
		},
	}, nil
}

func validCardQuery(q CardTransactionQuery) error {
	if q.TransactionType != "" {
		ok := false
		for _, k := range ckinds {
			ok = ok || k.typ == q.TransactionType
		}
		if !ok {
			return fmt.Errorf("%w: transactionType %q", ErrBadQuery, q.TransactionType)
		}
	}
	if q.PayeeMCC < 0 {
		return fmt.Errorf("%w: payeeMCC %d", ErrBadQuery, q.PayeeMCC)
	}
	return nil
}

// CreditCardTransactions implements Core. Order: transactionDateTime,
// oldest first.
func (s *Synthetic) CreditCardTransactions(ctx context.Context, owner Owner, id string, q CardTransactionQuery) (Page[CreditCardTransaction], error) {
	if err := validCardQuery(q); err != nil {
		return Page[CreditCardTransaction]{}, err
	}
	c, err := s.findCard(ctx, owner, id)
	if err != nil {
		return Page[CreditCardTransaction]{}, err
	}
	from, to, err := s.clampRange(q.Transaction)
	if err != nil {
		return Page[CreditCardTransaction]{}, err
	}
	return s.cardTxPage(&c, from, to, q), nil
}

// CreditCardBillTransactions implements Core: the transactions of one
// closed bill, filtered like CreditCardTransactions.
func (s *Synthetic) CreditCardBillTransactions(ctx context.Context, owner Owner, id, billID string, q CardTransactionQuery) (Page[CreditCardTransaction], error) {
	if err := validCardQuery(q); err != nil {
		return Page[CreditCardTransaction]{}, err
	}
	c, err := s.findCard(ctx, owner, id)
	if err != nil {
		return Page[CreditCardTransaction]{}, err
	}
	var b *bill
	for _, cb := range s.closedBills(&c) {
		if cb.id == billID {
			b = &cb
			break
		}
	}
	if b == nil {
		return Page[CreditCardTransaction]{}, ErrResourceNotFound
	}
	from, to, err := s.clampRange(q.Transaction)
	if err != nil {
		return Page[CreditCardTransaction]{}, err
	}
	return s.cardTxPage(&c, max(from, b.prevClosing+1), min(to, b.closing), q), nil
}

func (s *Synthetic) cardTxPage(c *card, from, to int64, q CardTransactionQuery) Page[CreditCardTransaction] {
	page, size, off := pageBounds(q.PageRequest)
	now := s.nowMs()
	total := 0
	items := make([]CreditCardTransaction, 0, min(size, 64))
	for d := from; d <= to; d++ {
		di := c.day(d)
		var b bill
		billKnown := false
		for k := range di.nf + di.nr {
			hd := c.head(&di, k)
			if q.TransactionType != "" && ckinds[hd.kind].typ != q.TransactionType {
				continue
			}
			if q.PayeeMCC != 0 && hd.mcc != q.PayeeMCC {
				continue
			}
			if total >= off && len(items) < size {
				if !billKnown {
					b, billKnown = c.billOfDay(d), true
				}
				items = append(items, s.cardTx(c, &di, k, hd, b, now))
			}
			total++
		}
	}
	return newPage(items, page, size, total)
}

func (s *Synthetic) cardTx(c *card, di *dayInfo, k int, hd cTxHead, b bill, now [2]int64) CreditCardTransaction {
	r := newRNG(mix(hd.h, 0xca7d))
	kd := ckinds[hd.kind]
	t := CreditCardTransaction{
		TransactionID:        uuidLike(mix(hd.h, 0x3a), mix(hd.h, 0x3b)),
		IdentificationNumber: c.methods[int(hd.h>>32)%len(c.methods)].IdentificationNumber,
		CreditDebitType:      "DEBITO",
		TransactionType:      kd.typ,
		BrazilianAmount:      brl(hd.cents),
		Amount:               brl(hd.cents),
		TransactionDateTime:  formatDateTimeMs(di.day, txMs(di, k, hd.h)),
		BillPostDate:         formatDate(di.day),
		PayeeMCC:             hd.mcc,
	}
	if kd.credit {
		t.CreditDebitType = "CREDITO"
	}
	if b.closing <= now[0] {
		t.BillID = b.id
	}
	switch hd.kind {
	case cPurchase, cRefund:
		m := merchants[(hd.h>>20)%uint64(len(merchants))]
		t.TransactionName = m.Name
		if hd.kind == cRefund {
			t.TransactionName = "ESTORNO " + m.Name
			break
		}
		t.PaymentType = "A_VISTA"
		if r.chance(20) {
			t.PaymentType = "A_PRAZO"
			t.ChargeNumber = int(r.between(2, 12))
			t.ChargeIdentificator = int(r.between(1, int64(t.ChargeNumber)))
			t.TransactionalAdditionalInfo = fmt.Sprintf("PARCELA %d DE %d", t.ChargeIdentificator, t.ChargeNumber)
		}
	case cPurchaseIntl:
		m := internationalMerchants[(hd.h>>20)%uint64(len(internationalMerchants))]
		t.TransactionName = m.Name
		t.PaymentType = "A_VISTA"
		// hd.cents is the BRL value; the original currency amount follows
		// from the rate, rounded to the cent.
		t.Amount = Amount{Amount: money((hd.cents*100 + m.Rate/2) / m.Rate), Currency: m.Currency}
	case cCashback:
		t.TransactionName = "CASHBACK " + s.opts.BrandName
	case cCreditOp:
		t.OtherCreditsType = pick(&r, []string{"CREDITO_ROTATIVO", "PARCELAMENTO_FATURA", "EMPRESTIMO", "OUTROS"})
		t.TransactionName = "OPERACAO DE CREDITO " + t.OtherCreditsType
		if t.OtherCreditsType == "OUTROS" {
			t.OtherCreditsAdditionalInfo = "Saque parcelado"
		}
	case cSMSFee:
		t.TransactionName = "TARIFA SMS"
		t.FeeType = "SMS"
	case cAnnualFee:
		t.TransactionName = "ANUIDADE DIFERENCIADA"
		t.FeeType = "ANUIDADE"
	case cAdjust:
		t.TransactionName = "AJUSTE A DEBITO"
	}
	return t
}
