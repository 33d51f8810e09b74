package corebank

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Options configure the synthetic core. Zero fields take DefaultOptions'
// values.
type Options struct {
	// Seed makes the data: the same seed gives the same customers, accounts
	// and transactions on every run and every machine.
	Seed uint64
	// Customers is how many customers exist (PF and PJ together).
	Customers int
	// BusinessPercent is the share of companies (PJ), 1–50; zero takes the
	// default (20) and a negative value means no companies. Each company's
	// legal representative is one of the PF customers.
	BusinessPercent int
	// BrandName, CompanyCNPJ and CompeCode identify the institution in
	// accounts and credit-card accounts.
	BrandName   string
	CompanyCNPJ string
	CompeCode   string
	// Now is the clock: "today" ends the 12-month history. The data of a
	// given calendar day never changes; only the window slides.
	Now func() time.Time
}

// DefaultOptions: 10,000 customers, 20 % companies.
func DefaultOptions() Options {
	return Options{
		Seed:            1,
		Customers:       10000,
		BusinessPercent: 20,
		BrandName:       "OFP Bank",
		CompanyCNPJ:     cnpjFromRoot(43215678, 1),
		CompeCode:       "399",
		Now:             time.Now,
	}
}

// Synthetic is the built-in core: a deterministic, lazily generated bank.
// Nothing is stored: every customer, account and transaction is derived on
// demand from hash(seed, customer index, ...), so memory stays constant
// whatever the number of customers, and a call costs microseconds. It is
// safe for concurrent use.
//
// Documents map to customers through modular bijections, so
// FindByDocument is O(1) without any index: PF customer i has CPF base
// (a·i + b) mod 10⁹ (check digits appended), PJ customer j has CNPJ root
// (a'·j + b') mod 10⁸ with branch 0001, and PJ j's legal representative is
// PF customer (c·j + d) mod nPF.
type Synthetic struct {
	opts     Options
	seed     uint64
	nPF, nPJ int64

	cpfA, cpfAInv, cpfB    int64
	cnpjA, cnpjAInv, cnpjB int64
	repA, repAInv, repB    int64
}

var _ Core = (*Synthetic)(nil)

const (
	cpfSpace  = 1_000_000_000 // nine CPF base digits
	cnpjSpace = 100_000_000   // eight CNPJ root digits
)

// NewSynthetic builds the core. It fails on options it cannot honour.
func NewSynthetic(opts Options) (*Synthetic, error) {
	def := DefaultOptions()
	if opts.Customers == 0 {
		opts.Customers = def.Customers
	}
	if opts.BrandName == "" {
		opts.BrandName = def.BrandName
	}
	if opts.CompanyCNPJ == "" {
		opts.CompanyCNPJ = def.CompanyCNPJ
	}
	if opts.CompeCode == "" {
		opts.CompeCode = def.CompeCode
	}
	if opts.Now == nil {
		opts.Now = def.Now
	}
	switch {
	case opts.BusinessPercent == 0:
		opts.BusinessPercent = def.BusinessPercent
	case opts.BusinessPercent < 0:
		opts.BusinessPercent = 0
	}
	switch {
	case opts.Customers < 1 || opts.Customers > 50_000_000:
		return nil, fmt.Errorf("corebank: Customers must be 1..50000000, got %d", opts.Customers)
	case opts.BusinessPercent > 50:
		return nil, fmt.Errorf("corebank: BusinessPercent must be at most 50, got %d", opts.BusinessPercent)
	case !ValidCNPJ(opts.CompanyCNPJ):
		return nil, fmt.Errorf("corebank: CompanyCNPJ %q is not a valid CNPJ", opts.CompanyCNPJ)
	case len(opts.CompeCode) != 3 || !allDigits(opts.CompeCode):
		return nil, fmt.Errorf("corebank: CompeCode must be 3 digits, got %q", opts.CompeCode)
	case len(opts.BrandName) > 80:
		return nil, errors.New("corebank: BrandName is longer than 80 characters")
	}
	s := &Synthetic{opts: opts, seed: mix(opts.Seed, 0x0fb0c0de)}
	s.nPJ = int64(opts.Customers) * int64(opts.BusinessPercent) / 100
	s.nPF = int64(opts.Customers) - s.nPJ
	if s.nPF == 0 {
		return nil, errors.New("corebank: at least one PF customer is needed")
	}

	r := newRNG(mix(s.seed, 1))
	s.cpfA, s.cpfAInv = unitMod(&r, cpfSpace)
	s.cpfB = int64(r.next() % cpfSpace)
	// No customer may get a repeated-digit CPF (111.111.111-11 and the
	// like are invalid): shift b until none of the ten lands on an index.
	for s.repdigitHit() {
		s.cpfB = (s.cpfB + 1) % cpfSpace
	}
	s.cnpjA, s.cnpjAInv = unitMod(&r, cnpjSpace)
	s.cnpjB = int64(r.next() % cnpjSpace)
	s.repA, s.repAInv = unitMod(&r, s.nPF)
	s.repB = int64(r.next() % uint64(s.nPF))
	return s, nil
}

// unitMod draws a unit a of Z/m and its inverse.
func unitMod(r *rng, m int64) (int64, int64) {
	if m == 1 {
		return 0, 0
	}
	for {
		a := int64(r.next()%uint64(m-1)) + 1
		if gcd(a, m) == 1 {
			return a, modInverse(a, m)
		}
	}
}

func (s *Synthetic) repdigitHit() bool {
	for d := range int64(10) {
		if s.pfIndexOfBase(d*111_111_111) >= 0 {
			return true
		}
	}
	return false
}

// Len is the number of customers. Customer(i) is defined for 0 ≤ i < Len().
// PF customers come first (0 ≤ i < PFCount()), then PJ.
func (s *Synthetic) Len() int { return int(s.nPF + s.nPJ) }

// PFCount is the number of natural-person customers.
func (s *Synthetic) PFCount() int { return int(s.nPF) }

// Options returns the options in force (defaults applied).
func (s *Synthetic) Options() Options { return s.opts }

// Customer returns customer i. It panics when i is out of range, like a
// slice index.
func (s *Synthetic) Customer(i int) Customer {
	if i < 0 || int64(i) >= s.nPF+s.nPJ {
		panic(fmt.Sprintf("corebank: customer index %d out of range [0,%d)", i, s.nPF+s.nPJ))
	}
	idx := int64(i)
	if idx < s.nPF {
		p := s.person(idx)
		c := Customer{ID: p.id, Type: PF, CPF: p.cpf, Name: p.name}
		if j := s.companyRepresentedBy(idx); j >= 0 {
			c.Businesses = []string{s.cnpjOf(j)}
		}
		return c
	}
	co := s.company(idx - s.nPF)
	rep := s.person(co.rep)
	return Customer{ID: co.id, Type: PJ, CPF: rep.cpf, CNPJ: co.cnpj, Name: co.name, RepresentativeName: rep.name}
}

// FindByDocument finds the customer a login names: a CPF alone for a
// person, or a CNPJ with the CPF of its legal representative for a company.
// Errors: ErrCustomerNotFound, ErrNotRepresentative.
func (s *Synthetic) FindByDocument(cpf, cnpj string) (Customer, error) {
	idx, err := s.resolve(Owner{CPF: cpf, CNPJ: cnpj})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(int(idx)), nil
}

// LookupCustomer implements Core.
func (s *Synthetic) LookupCustomer(ctx context.Context, owner Owner) (Customer, error) {
	if err := ctx.Err(); err != nil {
		return Customer{}, err
	}
	return s.FindByDocument(owner.CPF, owner.CNPJ)
}

// resolve maps an owner to a customer index.
func (s *Synthetic) resolve(o Owner) (int64, error) {
	if o.CNPJ == "" {
		if !ValidCPF(o.CPF) {
			return 0, ErrCustomerNotFound
		}
		i := s.pfIndexOfBase(int64(mustUint(o.CPF[:9])))
		if i < 0 {
			return 0, ErrCustomerNotFound
		}
		return i, nil
	}
	if !ValidCNPJ(o.CNPJ) || o.CNPJ[8:12] != "0001" {
		return 0, ErrCustomerNotFound
	}
	root := int64(mustUint(o.CNPJ[:8]))
	j := mulmod(s.cnpjAInv, ((root-s.cnpjB)%cnpjSpace+cnpjSpace)%cnpjSpace, cnpjSpace)
	if j >= s.nPJ {
		return 0, ErrCustomerNotFound
	}
	if o.CPF != s.cpfOf(s.repOf(j)) {
		return 0, ErrNotRepresentative
	}
	return s.nPF + j, nil
}

func (s *Synthetic) pfIndexOfBase(base int64) int64 {
	i := mulmod(s.cpfAInv, ((base-s.cpfB)%cpfSpace+cpfSpace)%cpfSpace, cpfSpace)
	if i >= s.nPF {
		return -1
	}
	return i
}

func (s *Synthetic) cpfOf(pf int64) string {
	return cpfFromBase(uint64((mulmod(s.cpfA, pf, cpfSpace) + s.cpfB) % cpfSpace))
}

func (s *Synthetic) cnpjOf(j int64) string {
	return cnpjFromRoot(uint64((mulmod(s.cnpjA, j, cnpjSpace)+s.cnpjB)%cnpjSpace), 1)
}

// repOf is the PF index of PJ j's legal representative.
func (s *Synthetic) repOf(j int64) int64 { return (mulmod(s.repA, j, s.nPF) + s.repB) % s.nPF }

// companyRepresentedBy is the PJ ordinal pf represents, or -1.
func (s *Synthetic) companyRepresentedBy(pf int64) int64 {
	if s.nPJ == 0 {
		return -1
	}
	j := mulmod(s.repAInv, ((pf-s.repB)%s.nPF+s.nPF)%s.nPF, s.nPF)
	if j >= s.nPJ {
		return -1
	}
	return j
}

// Key tags: each kind of derived datum has its own.
const (
	tagPerson uint64 = iota + 100
	tagCompany
	tagAccounts
	tagCards
	tagDay
	tagBalance
	tagParty
)

// customerKey is the root key of customer idx.
func (s *Synthetic) customerKey(idx int64) uint64 { return mix(s.seed, uint64(idx)+1) }

func (s *Synthetic) today() int64 { return dayOf(s.opts.Now().UTC()) }

// window is the history the core holds: the last 12 months up to today.
func (s *Synthetic) window() (first, last int64) {
	now := s.opts.Now().UTC()
	return dayOf(now.AddDate(-1, 0, 0)), dayOf(now)
}

// clampRange intersects r with the window; ok is false when empty.
func (s *Synthetic) clampRange(r DateRange) (from, to int64, err error) {
	first, last := s.window()
	from, to = first, last
	if !r.From.IsZero() {
		from = max(from, dayOf(r.From.UTC()))
	}
	if !r.To.IsZero() {
		to = min(to, dayOf(r.To.UTC()))
	}
	if !r.From.IsZero() && !r.To.IsZero() && dayOf(r.From.UTC()) > dayOf(r.To.UTC()) {
		return 0, 0, fmt.Errorf("%w: from date after to date", ErrBadQuery)
	}
	return from, to, nil
}

// pageBounds normalises a PageRequest into offset and size.
func pageBounds(pr PageRequest) (page, size, offset int) {
	page, size = pr.Page, pr.PageSize
	if page < 1 {
		page = 1
	}
	if size < 1 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	return page, size, (page - 1) * size
}

func newPage[T any](items []T, page, size, total int) Page[T] {
	if items == nil {
		items = []T{}
	}
	pages := 0
	if total > 0 {
		pages = (total + size - 1) / size
	}
	return Page[T]{Items: items, Page: page, PageSize: size, TotalRecords: total, TotalPages: pages}
}

// paginate slices a fully built list.
func paginate[T any](all []T, pr PageRequest) Page[T] {
	page, size, off := pageBounds(pr)
	var items []T
	if off < len(all) {
		items = all[off:min(len(all), off+size)]
	}
	return newPage(items, page, size, len(all))
}

// Persons and companies.

type person struct {
	idx        int64
	key        uint64
	id, cpf    string
	first      string
	name       string
	female     bool
	birthDay   int64
	place      place
	occupation int
	income     int64 // monthly cents
	employer   string
	sinceDay   int64 // customer since
}

func (s *Synthetic) person(idx int64) person {
	key := mix(s.customerKey(idx), tagPerson)
	r := newRNG(key)
	p := person{idx: idx, key: key, cpf: s.cpfOf(idx)}
	p.id = uuidLike(mix(key, 1), mix(key, 2))
	p.female = r.chance(52)
	if p.female {
		p.first = pick(&r, femaleNames)
	} else {
		p.first = pick(&r, maleNames)
	}
	s1, s2 := pick(&r, surnames), pick(&r, surnames)
	for s2 == s1 {
		s2 = pick(&r, surnames)
	}
	p.name = p.first + " " + s1 + " " + s2
	p.birthDay = daysFromCivil(2024, 1, 1) - r.between(18*365+5, 80*365)
	p.place = pick(&r, places)
	p.occupation = r.intn(len(occupations))
	p.income = r.between(1_500_00, 25_000_00)
	p.employer = pick(&r, employers)
	// Customer since 2 to 20 years, anchored to a fixed epoch so it does
	// not move with the clock.
	p.sinceDay = daysFromCivil(2024, 1, 1) - r.between(365, 20*365)
	return p
}

type company struct {
	j          int64
	key        uint64
	id, cnpj   string
	name       string
	tradeName  string
	trade      int
	rep        int64
	incorpDay  int64
	place      place
	revenue    int64 // yearly cents
	sinceDay   int64
	partnerCPF string
	partner    string
}

func (s *Synthetic) company(j int64) company {
	key := mix(s.customerKey(s.nPF+j), tagCompany)
	r := newRNG(key)
	c := company{j: j, key: key, cnpj: s.cnpjOf(j), rep: s.repOf(j)}
	c.id = uuidLike(mix(key, 1), mix(key, 2))
	c.trade = r.intn(len(companyTrades))
	word := pick(&r, companyWords)
	c.tradeName = companyTrades[c.trade].Suffix + " " + word
	c.name = word + " " + companyTrades[c.trade].Trade + " " + pick(&r, legalForms)
	c.incorpDay = daysFromCivil(2024, 1, 1) - r.between(365, 30*365)
	c.place = pick(&r, places)
	c.revenue = r.between(200_000_00, 40_000_000_00)
	c.sinceDay = c.incorpDay + r.between(0, 365)
	c.partnerCPF = cpfFromBase(r.next() % cpfSpace)
	c.partner = pick(&r, maleNames) + " " + pick(&r, surnames) + " " + pick(&r, surnames)
	return c
}

// A random, valid counterparty document.
func randomCPF(r *rng) string  { return cpfFromBase(100_000_000 + r.next()%800_000_000) }
func randomCNPJ(r *rng) string { return cnpjFromRoot(10_000_000+r.next()%89_000_000, 1) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
