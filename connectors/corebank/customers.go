package corebank

import (
	"context"
	"fmt"
	"strings"
)

// customerIndex resolves owner and checks its person type.
func (s *Synthetic) customerIndex(ctx context.Context, owner Owner, business bool) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	idx, err := s.resolve(owner)
	if err != nil {
		return 0, err
	}
	if (idx >= s.nPF) != business {
		return 0, ErrWrongPersonType
	}
	return idx, nil
}

// updateDay is when a customer's record last changed: within the last
// 90 days, never in the future.
func (s *Synthetic) updateDateTime(key uint64) string {
	return formatDateTime(s.today()-int64(key%90)-1, int64(key>>32)%secondsPerDay)
}

func address(r *rng, pl place) PostalAddress {
	return PostalAddress{
		IsMain:             true,
		Address:            fmt.Sprintf("%s %s, %d", pick(r, streetKinds), pick(r, streetNames), 1+r.intn(3000)),
		DistrictName:       pick(r, pl.Districts),
		TownName:           pl.Town,
		IbgeTownCode:       pl.IBGE,
		CountrySubDivision: pl.UF,
		PostCode:           pl.CEPPrefix + r.digits(6),
		Country:            "Brasil",
		CountryCode:        "BRA",
		GeographicCoordinates: &GeographicCoordinates{
			Latitude: pl.Lat, Longitude: pl.Lon,
		},
	}
}

func emailSlug(s string) string {
	return strings.ToLower(strings.ReplaceAll(asciiFold(s), " ", ""))
}

// PersonalIdentifications implements Core.
func (s *Synthetic) PersonalIdentifications(ctx context.Context, owner Owner) ([]PersonalIdentification, error) {
	idx, err := s.customerIndex(ctx, owner, false)
	if err != nil {
		return nil, err
	}
	p := s.person(idx)
	r := newRNG(mix(p.key, 0x1d))
	parts := strings.Fields(p.name)
	mother := pick(&r, femaleNames) + " " + parts[len(parts)-2] + " " + pick(&r, surnames)
	father := pick(&r, maleNames) + " " + parts[len(parts)-1] + " " + pick(&r, surnames)
	sex := "MASCULINO"
	if p.female {
		sex = "FEMININO"
	}
	id := PersonalIdentification{
		UpdateDateTime:    s.updateDateTime(p.key),
		PersonalID:        p.id,
		BrandName:         s.opts.BrandName,
		CivilName:         p.name,
		BirthDate:         formatDate(p.birthDay),
		MaritalStatusCode: pick(&r, []string{"SOLTEIRO", "SOLTEIRO", "CASADO", "CASADO", "DIVORCIADO", "UNIAO_ESTAVEL", "VIUVO"}),
		Sex:               sex,
		CompaniesCnpj:     []string{s.opts.CompanyCNPJ},
		Documents:         PersonalDocuments{CPFNumber: p.cpf},
		OtherDocuments: []PersonalOtherDocument{{
			Type: "RG", Number: r.digits(8), CheckDigit: r.digits(1), AdditionalInfo: "SSP/" + p.place.UF,
		}},
		HasBrazilianNationality: true,
		Filiation:               []Filiation{{Type: "MAE", CivilName: mother}, {Type: "PAI", CivilName: father}},
		Contacts: PersonalContacts{
			PostalAddresses: []PostalAddress{address(&r, p.place)},
			Phones: []Phone{{
				IsMain: true, Type: "MOVEL", CountryCallingCode: "55", AreaCode: p.place.AreaCode, Number: "9" + r.digits(8),
			}},
			Emails: []Email{{IsMain: true, Email: emailSlug(p.first) + "." + emailSlug(parts[len(parts)-1]) + r.digits(2) + "@email.com.br"}},
		},
	}
	if r.chance(40) {
		id.OtherDocuments = append(id.OtherDocuments, PersonalOtherDocument{
			Type: "CNH", Number: r.digits(11), ExpirationDate: formatDate(daysFromCivil(2027+r.intn(8), 1+r.intn(12), 1+r.intn(28))),
		})
	}
	return []PersonalIdentification{id}, nil
}

// PersonalQualifications implements Core.
func (s *Synthetic) PersonalQualifications(ctx context.Context, owner Owner) (PersonalQualification, error) {
	idx, err := s.customerIndex(ctx, owner, false)
	if err != nil {
		return PersonalQualification{}, err
	}
	p := s.person(idx)
	r := newRNG(mix(p.key, 0x9a))
	occ := occupations[p.occupation]
	y, _, _ := civil(s.today())
	return PersonalQualification{
		UpdateDateTime:        s.updateDateTime(p.key),
		CompanyCnpj:           s.opts.CompanyCNPJ,
		OccupationCode:        "CBO",
		OccupationDescription: occ.Code + " - " + occ.Description,
		InformedIncome: &InformedIncome{
			Frequency: "MENSAL", Amount: brl(incomeOf(s.customerKey(idx))), Date: formatDate(s.today() - 30 - r.between(0, 300)),
		},
		InformedPatrimony: &PersonalPatrimony{Amount: brl(r.between(0, 2_000_000) * 100), Year: y - 1},
	}, nil
}

// productsOf lists the customer's products as EnumProductServiceType.
func (s *Synthetic) productsOf(idx int64) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range s.accounts(idx) {
		if !seen[a.typ] {
			seen[a.typ] = true
			out = append(out, a.typ)
		}
	}
	if len(s.cards(idx)) > 0 {
		out = append(out, "CARTAO_CREDITO")
	}
	return out
}

// PersonalFinancialRelations implements Core.
func (s *Synthetic) PersonalFinancialRelations(ctx context.Context, owner Owner) (PersonalFinancialRelation, error) {
	idx, err := s.customerIndex(ctx, owner, false)
	if err != nil {
		return PersonalFinancialRelation{}, err
	}
	p := s.person(idx)
	r := newRNG(mix(p.key, 0xf1))
	out := PersonalFinancialRelation{
		UpdateDateTime:       s.updateDateTime(p.key),
		StartDate:            formatDateTime(p.sinceDay, 10*3600),
		ProductsServicesType: s.productsOf(idx),
		Procurators:          []PersonalProcurator{},
		Accounts:             []PersonalAccount{},
	}
	if r.chance(10) {
		out.Procurators = append(out.Procurators, PersonalProcurator{
			Type: "PROCURADOR", CPFNumber: randomCPF(&r), CivilName: pick(&r, femaleNames) + " " + pick(&r, surnames) + " " + pick(&r, surnames),
		})
	}
	for _, a := range s.accounts(idx) {
		out.Accounts = append(out.Accounts, PersonalAccount{
			CompeCode: s.opts.CompeCode, BranchCode: a.branch, Number: a.number, CheckDigit: a.check, Type: a.typ, Subtype: a.subtype,
		})
	}
	return out, nil
}

// BusinessIdentifications implements Core.
func (s *Synthetic) BusinessIdentifications(ctx context.Context, owner Owner) ([]BusinessIdentification, error) {
	idx, err := s.customerIndex(ctx, owner, true)
	if err != nil {
		return nil, err
	}
	c := s.company(idx - s.nPF)
	rep := s.person(c.rep)
	r := newRNG(mix(c.key, 0x1d))
	share := r.between(51, 100)
	parties := []BusinessParty{{
		PersonType: "PESSOA_NATURAL", Type: "SOCIO", CivilName: rep.name, StartDate: formatDateTime(c.incorpDay, 0),
		Shareholding: shareholding(share), DocumentType: "CPF", DocumentNumber: rep.cpf, DocumentCountry: "BRA",
	}}
	if share < 100 {
		parties = append(parties, BusinessParty{
			PersonType: "PESSOA_NATURAL", Type: "SOCIO", CivilName: c.partner, StartDate: formatDateTime(c.incorpDay, 0),
			Shareholding: shareholding(100 - share), DocumentType: "CPF", DocumentNumber: c.partnerCPF, DocumentCountry: "BRA",
		})
	}
	return []BusinessIdentification{{
		UpdateDateTime:    s.updateDateTime(c.key),
		BusinessID:        c.id,
		BrandName:         s.opts.BrandName,
		CompanyName:       c.name,
		TradeName:         c.tradeName,
		IncorporationDate: formatDateTime(c.incorpDay, 0),
		CNPJNumber:        c.cnpj,
		CompaniesCnpj:     []string{s.opts.CompanyCNPJ},
		Parties:           parties,
		Contacts: BusinessContacts{
			PostalAddresses: []PostalAddress{address(&r, c.place)},
			Phones:          []Phone{{IsMain: true, Type: "FIXO", CountryCallingCode: "55", AreaCode: c.place.AreaCode, Number: "3" + r.digits(7)}},
			Emails:          []Email{{IsMain: true, Email: "contato@" + emailSlug(c.tradeName) + ".com.br"}},
		},
	}}, nil
}

// shareholding renders a percentage as the spec's fraction "0.510000".
func shareholding(pct int64) string {
	if pct >= 100 {
		return "1.000000"
	}
	return fmt.Sprintf("0.%02d0000", pct)
}

// BusinessQualifications implements Core.
func (s *Synthetic) BusinessQualifications(ctx context.Context, owner Owner) (BusinessQualification, error) {
	idx, err := s.customerIndex(ctx, owner, true)
	if err != nil {
		return BusinessQualification{}, err
	}
	c := s.company(idx - s.nPF)
	r := newRNG(mix(c.key, 0x9a))
	y, _, _ := civil(s.today())
	return BusinessQualification{
		UpdateDateTime:     s.updateDateTime(c.key),
		EconomicActivities: []EconomicActivity{{Code: companyTrades[c.trade].CNAE, IsMain: true}},
		InformedRevenue:    &InformedRevenue{Frequency: "ANUAL", Amount: brl(c.revenue), Year: y - 1},
		InformedPatrimony:  &BusinessPatrimony{Amount: brl(c.revenue / 3 * int64(1+r.intn(3))), Date: formatDate(daysFromCivil(y-1, 12, 31))},
	}, nil
}

// BusinessFinancialRelations implements Core.
func (s *Synthetic) BusinessFinancialRelations(ctx context.Context, owner Owner) (BusinessFinancialRelation, error) {
	idx, err := s.customerIndex(ctx, owner, true)
	if err != nil {
		return BusinessFinancialRelation{}, err
	}
	c := s.company(idx - s.nPF)
	rep := s.person(c.rep)
	out := BusinessFinancialRelation{
		UpdateDateTime:       s.updateDateTime(c.key),
		StartDate:            formatDateTime(c.sinceDay, 10*3600),
		ProductsServicesType: s.productsOf(idx),
		Procurators:          []BusinessProcurator{{Type: "REPRESENTANTE_LEGAL", CnpjCpfNumber: rep.cpf, CivilName: rep.name}},
		Accounts:             []BusinessAccount{},
	}
	for _, a := range s.accounts(idx) {
		out.Accounts = append(out.Accounts, BusinessAccount{
			CompeCode: s.opts.CompeCode, BranchCode: a.branch, Number: a.number, CheckDigit: a.check, Type: a.typ,
		})
	}
	return out, nil
}
