package corebank

import (
	"context"
	"fmt"
)

// Account types and subtypes (accounts 2.4.2 enums).
const (
	AccountChecking = "CONTA_DEPOSITO_A_VISTA"
	AccountSavings  = "CONTA_POUPANCA"
	AccountPrepaid  = "CONTA_PAGAMENTO_PRE_PAGA"
)

// acct is one synthetic account: everything about it that is not a
// transaction, derived from the customer key and its ordinal.
type acct struct {
	cust         int64
	business     bool
	ord          int
	key          uint64
	id           string
	typ, subtype string
	branch       string
	number       string
	check        string
	overdraft    int64 // contracted overdraft limit, cents (checking only)
	inOverdraft  bool  // the balance is negative today
	salaryDay    int   // PF checking: day of month the salary arrives (0: none)
	salary       int64 // cents
	payroll      int64 // PJ checking: monthly payroll, cents
	loanDay      int   // day of month a loan instalment is debited (0: none)
	loan         int64 // instalment, cents
	packageFee   int64 // monthly service package, cents (checking)
	table        []weighted
}

type weighted struct {
	kind   uint8
	weight int
}

// accounts derives customer idx's accounts, ordinal order.
func (s *Synthetic) accounts(idx int64) []acct {
	business := idx >= s.nPF
	ck := s.customerKey(idx)
	base := mix(ck, tagAccounts)
	r := newRNG(base)
	branch := fmt.Sprintf("%04d", 1+r.intn(9998))
	var types []string
	if business {
		types = append(types, AccountChecking)
		if r.chance(20) {
			types = append(types, AccountChecking)
		}
		if r.chance(10) {
			types = append(types, AccountPrepaid)
		}
	} else {
		if r.chance(92) {
			types = append(types, AccountChecking)
		} else {
			types = append(types, AccountPrepaid)
		}
		if r.chance(50) {
			types = append(types, AccountSavings)
		}
		if types[0] != AccountPrepaid && r.chance(15) {
			types = append(types, AccountPrepaid)
		}
	}
	out := make([]acct, len(types))
	for ord, typ := range types {
		key := mix(base, uint64(ord)+1)
		ar := newRNG(key)
		a := acct{cust: idx, business: business, ord: ord, key: key, typ: typ, subtype: "INDIVIDUAL"}
		a.id = uuidLike(mix(key, 1), mix(key, 2))
		a.number = itoa(1_000_000_000 + idx*8 + int64(ord))
		a.check = mod11Digit(a.number)
		if typ != AccountPrepaid {
			a.branch = branch
		}
		switch {
		case typ == AccountChecking && !business:
			a.table = pfCheckingTable
			switch v := ar.intn(100); {
			case v < 10:
				a.subtype = "CONJUNTA_SOLIDARIA"
			case v < 15:
				a.subtype = "CONJUNTA_SIMPLES"
			}
			if ar.chance(70) {
				a.overdraft = ar.between(5, 100) * 100_00
				a.inOverdraft = ar.chance(15)
			}
			if ord == 0 && ar.chance(75) {
				a.salaryDay = pick(&ar, []int{1, 5, 5, 5, 6, 20})
				a.salary = incomeOf(ck)
			}
			if ar.chance(15) {
				a.loanDay, a.loan = 15, ar.between(150_00, 2500_00)
			}
			a.packageFee = pick(&ar, []int64{0, 19_90, 34_90, 54_90, 79_90})
		case typ == AccountChecking && business:
			a.table = pjCheckingTable
			if ar.chance(80) {
				a.overdraft = ar.between(5, 100) * 1000_00
				a.inOverdraft = ar.chance(10)
			}
			if ar.chance(70) {
				a.payroll = ar.between(5_000_00, 250_000_00)
			}
			if ar.chance(30) {
				a.loanDay, a.loan = 20, ar.between(1_000_00, 40_000_00)
			}
			a.packageFee = pick(&ar, []int64{49_90, 89_90, 149_90, 249_90})
		case typ == AccountSavings:
			a.table = savingsTable
		case typ == AccountPrepaid:
			a.table = prepaidTable
		}
		out[ord] = a
	}
	return out
}

// incomeOf is a PF customer's monthly income (salary and qualification
// agree on it).
func incomeOf(ck uint64) int64 {
	r := newRNG(mix(ck, 0x1c0e))
	return r.between(1_500_00, 25_000_00)
}

func (s *Synthetic) accountData(a *acct) Account {
	return Account{
		BrandName: s.opts.BrandName, CompanyCnpj: s.opts.CompanyCNPJ, Type: a.typ,
		CompeCode: s.opts.CompeCode, BranchCode: a.branch, Number: a.number, CheckDigit: a.check, AccountID: a.id,
	}
}

// findAccount resolves owner and finds accountID among their accounts.
func (s *Synthetic) findAccount(ctx context.Context, owner Owner, accountID string) (acct, error) {
	if err := ctx.Err(); err != nil {
		return acct{}, err
	}
	idx, err := s.resolve(owner)
	if err != nil {
		return acct{}, err
	}
	for _, a := range s.accounts(idx) {
		if a.id == accountID {
			return a, nil
		}
	}
	return acct{}, ErrResourceNotFound
}

// Accounts implements Core.
func (s *Synthetic) Accounts(ctx context.Context, owner Owner) ([]Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idx, err := s.resolve(owner)
	if err != nil {
		return nil, err
	}
	as := s.accounts(idx)
	out := make([]Account, len(as))
	for i := range as {
		out[i] = s.accountData(&as[i])
	}
	return out, nil
}

// Account implements Core.
func (s *Synthetic) Account(ctx context.Context, owner Owner, accountID string) (AccountIdentification, error) {
	a, err := s.findAccount(ctx, owner, accountID)
	if err != nil {
		return AccountIdentification{}, err
	}
	return AccountIdentification{
		CompeCode: s.opts.CompeCode, BranchCode: a.branch, Number: a.number, CheckDigit: a.check,
		Type: a.typ, Subtype: a.subtype, Currency: "BRL",
	}, nil
}

// balance is today's available balance and its parts, in cents.
func (s *Synthetic) balance(a *acct) (available, blocked, invested int64) {
	r := newRNG(mix(mix(a.key, tagBalance), uint64(s.today())))
	switch {
	case a.typ == AccountChecking && a.business:
		available = r.between(0, 800_000_00)
	case a.typ == AccountChecking:
		available = r.between(0, 20_000_00)
	case a.typ == AccountSavings:
		available = r.between(100_00, 120_000_00)
	default:
		available = r.between(0, 3_000_00)
	}
	if a.inOverdraft && a.overdraft > 0 {
		available = -r.between(1_00, a.overdraft)
	}
	if r.chance(5) {
		blocked = r.between(10_00, 2_000_00)
	}
	if a.typ == AccountChecking && r.chance(30) {
		invested = r.between(100_00, 50_000_00)
	}
	return available, blocked, invested
}

// AccountBalances implements Core.
func (s *Synthetic) AccountBalances(ctx context.Context, owner Owner, accountID string) (AccountBalances, error) {
	a, err := s.findAccount(ctx, owner, accountID)
	if err != nil {
		return AccountBalances{}, err
	}
	avail, blocked, invested := s.balance(&a)
	now := s.opts.Now().UTC()
	return AccountBalances{
		AvailableAmount:             brl(avail),
		BlockedAmount:               brl(blocked),
		AutomaticallyInvestedAmount: brl(avail + invested),
		UpdateDateTime:              formatDateTime(dayOf(now), int64(now.Hour())*3600),
	}, nil
}

// AccountOverdraftLimits implements Core.
func (s *Synthetic) AccountOverdraftLimits(ctx context.Context, owner Owner, accountID string) (AccountOverdraftLimits, error) {
	a, err := s.findAccount(ctx, owner, accountID)
	if err != nil {
		return AccountOverdraftLimits{}, err
	}
	if a.typ != AccountChecking {
		return AccountOverdraftLimits{}, nil
	}
	avail, _, _ := s.balance(&a)
	used := max(0, -avail)
	return AccountOverdraftLimits{
		OverdraftContractedLimit:  brlp(a.overdraft),
		OverdraftUsedLimit:        brlp(min(used, a.overdraft)),
		UnarrangedOverdraftAmount: brlp(max(0, used-a.overdraft)),
	}, nil
}

// AccountTransactions implements Core. Transactions are ordered by
// transactionDateTime, oldest first (ties cannot happen: times within a day
// strictly increase), and carry stable ids.
func (s *Synthetic) AccountTransactions(ctx context.Context, owner Owner, accountID string, q AccountTransactionQuery) (Page[AccountTransaction], error) {
	var want int8
	switch q.CreditDebit {
	case "":
	case "CREDITO":
		want = 1
	case "DEBITO":
		want = -1
	default:
		return Page[AccountTransaction]{}, fmt.Errorf("%w: creditDebitIndicator %q", ErrBadQuery, q.CreditDebit)
	}
	a, err := s.findAccount(ctx, owner, accountID)
	if err != nil {
		return Page[AccountTransaction]{}, err
	}
	from, to, err := s.clampRange(q.Booking)
	if err != nil {
		return Page[AccountTransaction]{}, err
	}
	page, size, off := pageBounds(q.PageRequest)
	nowMs := s.nowMs()
	total := 0
	items := make([]AccountTransaction, 0, min(size, 64))
	for d := from; d <= to; d++ {
		di := a.day(d)
		n := di.nf + di.nr
		if n == 0 {
			continue
		}
		if want == 0 {
			if total+n > off && len(items) < size {
				for k := max(0, off-total); k < n && len(items) < size; k++ {
					items = append(items, s.accountTx(&a, &di, k, a.head(&di, k), nowMs))
				}
			}
			total += n
			continue
		}
		for k := range n {
			hd := a.head(&di, k)
			if (want > 0) != hd.credit {
				continue
			}
			if total >= off && len(items) < size {
				items = append(items, s.accountTx(&a, &di, k, hd, nowMs))
			}
			total++
		}
	}
	return newPage(items, page, size, total), nil
}

// nowMs is (today, milliseconds into today).
func (s *Synthetic) nowMs() [2]int64 {
	now := s.opts.Now().UTC()
	d := dayOf(now)
	return [2]int64{d, now.UnixMilli() - d*secondsPerDay*1000}
}

// Account transaction kinds.
const (
	kPIX uint8 = iota
	kTED
	kDOC
	kTEF
	kBoletoPaid
	kBoletoReceived
	kConvenio
	kPackage
	kFee
	kSalary
	kPayroll
	kDeposit
	kWithdrawal
	kDebitCard
	kOverdraftInterest
	kSavingsYield
	kRedemption
	kLoanInstalment
	kOther
)

const (
	partyNone uint8 = iota
	partyAccount
	partyMerchant
	partySameBank
	partyEmployer
)

type akind struct {
	typ     string
	dir     int8 // +1 credit, -1 debit, 0 either
	out, in string
	party   uint8
	lo, hi  int64 // cents
}

var akinds = [...]akind{
	kPIX:               {"PIX", 0, "PIX ENVIADO", "PIX RECEBIDO", partyAccount, 5_00, 1_500_00},
	kTED:               {"TED", 0, "TED ENVIADA", "TED RECEBIDA", partyAccount, 100_00, 10_000_00},
	kDOC:               {"DOC", -1, "DOC ENVIADO", "", partyAccount, 50_00, 3_000_00},
	kTEF:               {"TRANSFERENCIA_MESMA_INSTITUICAO", 0, "TRANSFERENCIA ENVIADA", "TRANSFERENCIA RECEBIDA", partySameBank, 10_00, 3_000_00},
	kBoletoPaid:        {"BOLETO", -1, "PAGAMENTO BOLETO", "", partyMerchant, 30_00, 2_000_00},
	kBoletoReceived:    {"BOLETO", 1, "", "LIQUIDACAO BOLETO", partyAccount, 100_00, 8_000_00},
	kConvenio:          {"CONVENIO_ARRECADACAO", -1, "PAGTO CONTA", "", partyMerchant, 40_00, 600_00},
	kPackage:           {"PACOTE_TARIFA_SERVICOS", -1, "TARIFA PACOTE DE SERVICOS", "", partyNone, 0, 0},
	kFee:               {"TARIFA_SERVICOS_AVULSOS", -1, "TARIFA", "", partyNone, 5_00, 30_00},
	kSalary:            {"FOLHA_PAGAMENTO", 1, "", "CREDITO DE SALARIO", partyEmployer, 0, 0},
	kPayroll:           {"FOLHA_PAGAMENTO", -1, "PAGAMENTO DE FOLHA", "", partyNone, 0, 0},
	kDeposit:           {"DEPOSITO", 1, "", "DEPOSITO EM DINHEIRO", partyNone, 20_00, 2_000_00},
	kWithdrawal:        {"SAQUE", -1, "SAQUE TERMINAL 24H", "", partyNone, 20_00, 1_000_00},
	kDebitCard:         {"CARTAO", -1, "COMPRA CARTAO DEBITO", "", partyMerchant, 5_00, 600_00},
	kOverdraftInterest: {"ENCARGOS_JUROS_CHEQUE_ESPECIAL", -1, "JUROS CHEQUE ESPECIAL", "", partyNone, 5_00, 400_00},
	kSavingsYield:      {"RENDIMENTO_APLIC_FINANCEIRA", 1, "", "RENDIMENTO POUPANCA", partyNone, 1_00, 600_00},
	kRedemption:        {"RESGATE_APLIC_FINANCEIRA", 1, "", "RESGATE APLICACAO CDB", partyNone, 100_00, 10_000_00},
	kLoanInstalment:    {"OPERACAO_CREDITO", -1, "PARCELA EMPRESTIMO", "", partyNone, 0, 0},
	kOther:             {"OUTROS", 0, "PAGAMENTO PENSAO ALIMENTICIA", "RECEBIMENTO PENSAO ALIMENTICIA", partyAccount, 200_00, 2_000_00},
}

var (
	pfCheckingTable = []weighted{{kPIX, 38}, {kDebitCard, 22}, {kBoletoPaid, 9}, {kConvenio, 6}, {kTEF, 6}, {kTED, 3},
		{kDOC, 1}, {kWithdrawal, 5}, {kDeposit, 2}, {kFee, 2}, {kRedemption, 2}, {kOther, 1}}
	pjCheckingTable = []weighted{{kPIX, 35}, {kTED, 12}, {kBoletoPaid, 15}, {kBoletoReceived, 15}, {kConvenio, 5},
		{kTEF, 6}, {kDebitCard, 5}, {kFee, 4}, {kDeposit, 3}}
	savingsTable = []weighted{{kTEF, 70}, {kDeposit, 20}, {kPIX, 10}}
	prepaidTable = []weighted{{kPIX, 50}, {kDebitCard, 40}, {kTEF, 10}}
)

func pickWeighted(t []weighted, h uint64) uint8 {
	total := 0
	for _, w := range t {
		total += w.weight
	}
	v := int(h % uint64(total))
	for _, w := range t {
		if v < w.weight {
			return w.kind
		}
		v -= w.weight
	}
	return t[len(t)-1].kind
}

// dayInfo is what a day of an account holds: nf fixed (calendar) events,
// then nr random ones, in time order.
type dayInfo struct {
	day   int64
	key   uint64
	fixed [4]uint8
	nf    int
	nr    int
}

func (a *acct) day(d int64) dayInfo {
	di := dayInfo{day: d, key: mix(mix(a.key, tagDay), uint64(d))}
	_, _, dd := civil(d)
	add := func(k uint8) { di.fixed[di.nf] = k; di.nf++ }
	switch a.typ {
	case AccountChecking:
		if a.salaryDay == dd {
			add(kSalary)
		}
		if a.payroll > 0 && dd == 5 {
			add(kPayroll)
		}
		if a.packageFee > 0 && dd == 10 {
			add(kPackage)
		}
		if a.loanDay == dd {
			add(kLoanInstalment)
		}
		if a.inOverdraft && dd == 1 {
			add(kOverdraftInterest)
		}
	case AccountSavings:
		if dd == 1 {
			add(kSavingsYield)
		}
	}
	h := mix(di.key, 0)
	weekend := (d+4)%7 == 0 || (d+4)%7 == 6 // 1970-01-01 was a Thursday
	switch {
	case a.typ == AccountChecking && a.business:
		di.nr = int(h % 11)
	case a.typ == AccountChecking:
		di.nr = int(h % 5)
	case a.typ == AccountSavings:
		if h%10 == 0 {
			di.nr = 1
		}
	default:
		di.nr = int(h%5) / 2
	}
	if weekend {
		di.nr /= 2
	}
	return di
}

type aTxHead struct {
	kind   uint8
	credit bool
	h      uint64
}

// head is the cheap part of transaction k of a day: enough to filter on.
func (a *acct) head(di *dayInfo, k int) aTxHead {
	h := mix(di.key, uint64(k)+1)
	var kind uint8
	if k < di.nf {
		kind = di.fixed[k]
	} else {
		kind = pickWeighted(a.table, h>>8)
	}
	credit := akinds[kind].dir > 0
	if akinds[kind].dir == 0 {
		credit = (h>>40)&1 == 1
	}
	return aTxHead{kind: kind, credit: credit, h: h}
}

// txMs is the time of transaction k within its day, in milliseconds:
// fixed events from 02:00 in 30-minute slots, random ones spread over
// 07:00–24:00; strictly increasing in k.
func txMs(di *dayInfo, k int, h uint64) int64 {
	if k < di.nf {
		const slot = 30 * 60 * 1000
		return 2*3600*1000 + int64(k)*slot + int64((h>>8)%slot)
	}
	slot := int64(17*3600*1000) / int64(di.nr)
	return 7*3600*1000 + int64(k-di.nf)*slot + int64((h>>8)%uint64(slot))
}

// skewed draws an amount in [lo, hi] with most of the mass near lo.
func skewed(r *rng, lo, hi int64) int64 {
	u := int64(r.intn(1000))
	return lo + (hi-lo)*u*u*u/1_000_000_000
}

func (s *Synthetic) accountTx(a *acct, di *dayInfo, k int, hd aTxHead, now [2]int64) AccountTransaction {
	kd := &akinds[hd.kind]
	r := newRNG(hd.h)
	ms := txMs(di, k, hd.h)
	var cents int64
	switch hd.kind {
	case kSalary:
		cents = a.salary + r.between(0, 50_00)
	case kPayroll:
		cents = a.payroll + r.between(0, 500_00)
	case kPackage:
		cents = a.packageFee
	case kLoanInstalment:
		cents = a.loan
	default:
		cents = skewed(&r, kd.lo, kd.hi)
		if a.business && (hd.kind == kPIX || hd.kind == kTED || hd.kind == kBoletoPaid || hd.kind == kTEF) {
			cents *= 5
		}
		cents = max(cents, 1_00)
	}
	t := AccountTransaction{
		TransactionID:                  uuidLike(mix(hd.h, 0x7a), mix(hd.h, 0x7b)),
		CompletedAuthorisedPaymentType: "TRANSACAO_EFETIVADA",
		CreditDebitType:                "DEBITO",
		Type:                           kd.typ,
		TransactionAmount:              brl(cents),
		TransactionDateTime:            formatDateTimeMs(di.day, ms),
	}
	if di.day > now[0] || (di.day == now[0] && ms > now[1]) {
		t.CompletedAuthorisedPaymentType = "LANCAMENTO_FUTURO"
	}
	name := kd.out
	if hd.credit {
		t.CreditDebitType = "CREDITO"
		name = kd.in
	}
	switch kd.party {
	case partyAccount, partySameBank:
		if a.business || r.chance(25) {
			t.PartieCnpjCpf, t.PartiePersonType = randomCNPJ(&r), "PESSOA_JURIDICA"
			name += " " + pick(&r, companyWordsASCII) + " " + companyTrades[r.intn(len(companyTrades))].Suffix
		} else {
			t.PartieCnpjCpf, t.PartiePersonType = randomCPF(&r), "PESSOA_NATURAL"
			first := pick(&r, maleNamesASCII)
			if r.chance(50) {
				first = pick(&r, femaleNamesASCII)
			}
			name += " " + first + " " + pick(&r, surnamesASCII)
		}
		t.PartieCompeCode = pick(&r, compeCodes)
		if kd.party == partySameBank {
			t.PartieCompeCode = s.opts.CompeCode
		}
		t.PartieBranchCode = string(appendPad(make([]byte, 0, 4), 1+r.intn(9998), 4))
		t.PartieNumber = r.digits(8 + r.intn(5))
		t.PartieCheckDigit = mod11Digit(t.PartieNumber)
	case partyEmployer:
		t.PartieCnpjCpf, t.PartiePersonType = randomCNPJ(&r), "PESSOA_JURIDICA"
		t.PartieCompeCode = pick(&r, compeCodes)
		name += " " + employersASCII[int(a.key%uint64(len(employers)))]
	case partyMerchant:
		t.PartieCnpjCpf, t.PartiePersonType = randomCNPJ(&r), "PESSOA_JURIDICA"
		if hd.kind == kConvenio {
			name += " " + pick(&r, utilities)
		} else {
			name += " " + merchants[r.intn(len(merchants))].Name
		}
	}
	if hd.kind == kFee {
		name += " " + pick(&r, []string{"TED", "SEGUNDA VIA CARTAO", "EXTRATO AVULSO", "SAQUE EXCEDENTE"})
	}
	t.TransactionName = name
	return t
}
