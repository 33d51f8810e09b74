package opendata

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Flags set on fee/rate rows that are used but not clean.
const (
	FlagSchemaViolation     = "schema_violation"
	FlagCustomerRatesSum    = "customer_rates_sum_not_1"
	FlagNonBRL              = "non_brl_currency"
	FlagNameCodeMismatch    = "name_code_mismatch"
	FlagNotApplicable       = "not_applicable" // minimum/maximum (rate) published as "NA": stored as null
	flagRateScalePrefix     = "rate_scale_"    // + number of decimals when a rate is not given with 6 ("rate_scale_4")
	customerRatesTolerance  = 2000             // 0.0005 per band x 4 bands, in units of 10^-6
	oneUnit                 = 1_000_000        // 1.000000
	expectedRateFractionLen = 6
)

// dec is a decimal column value in units of 10^-6; null when !ok.
type dec struct {
	v  int64
	ok bool
}

type feeRow struct {
	group, code, name, trigger, currency string
	min, max                             dec
	median, customers                    [4]dec
	flags                                string
}

type rateRow struct {
	indexer          string
	rate             dec
	bandRate, custs  [4]dec
	minRate, maxRate dec
	flags            string
}

// flagSet collects flags in a fixed order without allocating a map.
type flagSet struct{ list []string }

func (f *flagSet) add(s string) {
	if !slices.Contains(f.list, s) {
		f.list = append(f.list, s)
	}
}

// rateScaleFlags are the rate_scale_N flags for N = 0..6, built once.
var rateScaleFlags = func() (out [decScale + 1]string) {
	for i := range out {
		out[i] = flagRateScalePrefix + strconv.Itoa(i)
	}
	return out
}()

func (f *flagSet) rateScale(scale int) {
	if scale != expectedRateFractionLen {
		f.add(rateScaleFlags[scale])
	}
}

func (f *flagSet) String() string {
	slices.Sort(f.list)
	return strings.Join(f.list, ";")
}

// band maps an interval label to 0..3. The 1.0.0 products-services spec
// names the bands by customer quartile; they are read as the same bands.
func band(label string) int {
	switch label {
	case "1_FAIXA", "1_QUARTIL_CLIENTES":
		return 0
	case "2_FAIXA", "2_QUARTIL_CLIENTES":
		return 1
	case "3_FAIXA", "3_QUARTIL_CLIENTES":
		return 2
	case "4_FAIXA", "4_QUARTIL_CLIENTES":
		return 3
	}
	return -1
}

var bandNames = [4]string{"1_FAIXA", "2_FAIXA", "3_FAIXA", "4_FAIXA"}

// Field names used in reasons, built once (the hot path must not allocate).
var (
	bandValueWhat     = bandWhat(" value")
	bandCustomersWhat = bandWhat(" customers.rate")
	bandIndexerWhat   = bandWhat(" indexer.rate")
)

func bandWhat(suffix string) (out [4]string) {
	for i, b := range bandNames {
		out[i] = b + suffix
	}
	return out
}

// readDec reads a required decimal leaf; what names the field in the reason.
func readDec(t text, what string) (dec, int, string) {
	if !t.present {
		return dec{}, 0, "missing " + what
	}
	if !t.isStr {
		return dec{}, 0, fmt.Sprintf("%s: value %s is not a decimal string", what, t.v)
	}
	v, scale, reason := parseDecimal(t.v)
	if reason != "" {
		return dec{}, 0, what + ": " + reason
	}
	return dec{v: v, ok: true}, scale, ""
}

// readOptDec is readDec where the spec's "NA" (not applicable) gives null.
func readOptDec(t text, what string, flags *flagSet) (dec, int, string) {
	if t.isStr && t.v == "NA" {
		flags.add(FlagNotApplicable)
		return dec{}, expectedRateFractionLen, ""
	}
	return readDec(t, what)
}

// interpretFee turns one fee element into a row, or returns the reason it
// cannot be used. bundle selects monthlyFee as the band value.
func interpretFee(f *feeJSON, group string, bundle bool, flags *flagSet) (feeRow, string) {
	r := feeRow{group: group, code: f.Code.str(), name: f.Name.str(), trigger: f.ChargingTriggerInfo.str()}
	if bundle {
		// A bundle has no code: its name is its identifier.
		r.code = r.name
		if !f.Name.isStr || r.name == "" {
			return r, "service bundle has no name"
		}
	} else if !f.Code.isStr || r.code == "" {
		return r, "missing service code"
	}
	if len(f.Prices) == 0 {
		return r, "no prices"
	}
	var seen [4]bool
	for i := range f.Prices {
		p := &f.Prices[i]
		b := band(p.Interval.str())
		if b < 0 {
			return r, fmt.Sprintf("unknown band %s", strconv.Quote(p.Interval.v))
		}
		if seen[b] {
			return r, "band " + bandNames[b] + " duplicated"
		}
		seen[b] = true
		value := p.Value
		if bundle && p.MonthlyFee.present {
			value = p.MonthlyFee
		}
		d, _, reason := readDec(value, bandValueWhat[b])
		if reason != "" {
			return r, reason
		}
		r.median[b] = d
		c, scale, reason := readDec(p.Customers.Rate, bandCustomersWhat[b])
		if reason != "" {
			return r, reason
		}
		flags.rateScale(scale)
		r.customers[b] = c
		cur := p.Currency.str()
		if cur == "" {
			return r, bandNames[b] + ": missing currency"
		}
		if r.currency == "" {
			r.currency = cur
		} else if cur != r.currency {
			return r, fmt.Sprintf("currencies differ between bands (%s, %s)", r.currency, cur)
		}
	}
	for b, ok := range seen {
		if !ok {
			return r, "missing band " + bandNames[b]
		}
	}
	var reason string
	if r.min, reason = readLimit(f.Minimum, "minimum", r.currency, flags); reason != "" {
		return r, reason
	}
	if r.max, reason = readLimit(f.Maximum, "maximum", r.currency, flags); reason != "" {
		return r, reason
	}
	if r.currency != "BRL" {
		flags.add(FlagNonBRL)
	}
	checkCustomerSum(r.customers, flags)
	if !bundle && group == "priorityServices" {
		if want, known := priorityCodeByName[r.name]; known && want != r.code {
			flags.add(FlagNameCodeMismatch)
		}
	}
	r.flags = flags.String()
	return r, ""
}

// readLimit reads a fee's minimum or maximum (what), whose currency, when
// given, must be the bands' currency.
func readLimit(m *moneyJSON, what, currency string, flags *flagSet) (dec, string) {
	if m == nil {
		return dec{}, "missing " + what
	}
	valueWhat := "minimum value"
	if what == "maximum" {
		valueWhat = "maximum value"
	}
	d, _, reason := readOptDec(m.Value, valueWhat, flags)
	if reason != "" {
		return dec{}, reason
	}
	if cur := m.Currency.str(); cur != "" && cur != currency {
		return dec{}, fmt.Sprintf("%s currency %s differs from band currency %s", what, cur, currency)
	}
	return d, ""
}

func checkCustomerSum(c [4]dec, flags *flagSet) {
	var sum int64
	for _, x := range c {
		sum += x.v
	}
	if d := sum - oneUnit; d > customerRatesTolerance || d < -customerRatesTolerance {
		flags.add(FlagCustomerRatesSum)
	}
}

// interpretRate turns one interest-rate element into a row, or returns the
// reason it cannot be used.
func interpretRate(x *rateJSON, flags *flagSet) (rateRow, string) {
	r := rateRow{indexer: x.ReferentialRateIndexer.str()}
	if r.indexer == "" {
		r.indexer = x.ReferentialRateOrIndexer.str()
	}
	if r.indexer == "" {
		return r, "missing referentialRateIndexer"
	}
	d, scale, reason := readOptDec(x.Rate, "rate", flags)
	if reason != "" {
		return r, reason
	}
	flags.rateScale(scale)
	r.rate = d
	if len(x.Applications) == 0 {
		return r, "no applications"
	}
	var seen [4]bool
	for i := range x.Applications {
		a := &x.Applications[i]
		b := band(a.Interval.str())
		if b < 0 {
			return r, fmt.Sprintf("unknown band %s", strconv.Quote(a.Interval.v))
		}
		if seen[b] {
			return r, "band " + bandNames[b] + " duplicated"
		}
		seen[b] = true
		d, scale, reason := readDec(a.Indexer.Rate, bandIndexerWhat[b])
		if reason != "" {
			return r, reason
		}
		flags.rateScale(scale)
		r.bandRate[b] = d
		c, scale, reason := readDec(a.Customers.Rate, bandCustomersWhat[b])
		if reason != "" {
			return r, reason
		}
		flags.rateScale(scale)
		r.custs[b] = c
	}
	for b, ok := range seen {
		if !ok {
			return r, "missing band " + bandNames[b]
		}
	}
	if r.minRate, scale, reason = readOptDec(x.MinimumRate, "minimumRate", flags); reason != "" {
		return r, reason
	}
	flags.rateScale(scale)
	if r.maxRate, scale, reason = readOptDec(x.MaximumRate, "maximumRate", flags); reason != "" {
		return r, reason
	}
	flags.rateScale(scale)
	checkCustomerSum(r.custs, flags)
	r.flags = flags.String()
	return r, ""
}

// priorityCodeByName pairs the Resolution 3.919 priority-service names with
// their codes, in the order both enums appear in opendata-accounts-1.0.1.yml.
var priorityCodeByName = map[string]string{
	"CONFECCAO_CADASTRO_INICIO_RELACIONAMENTO":                                                                            "CADASTRO",
	"FORNECIMENTO_2_VIA_CARTAO_FUNCAO_DEBITO":                                                                             "2_VIA_CARTAO_DEBITO",
	"FORNECIMENTO_2_VIA_CARTAO_FUNCAO_MOVIMENTACAO_CONTA_POUPANCA":                                                        "2_VIA_CARTAO_POUPANCA",
	"EXCLUSAO_CADASTRO_EMITENTES_CHEQUES_SEM_FUNDO_CCF":                                                                   "EXCLUSAO_CCF",
	"CONTRA_ORDEM_REVOGACAO_E_OPOSICAO_OU_SUSTACAO_PAGAMENTO_CHEQUE":                                                      "SUSTACAO_REVOGACAO",
	"FORNECIMENTO_FOLHAS_CHEQUE":                                                                                          "FOLHA_CHEQUE",
	"CHEQUE_ADMINISTRATIVO":                                                                                               "CHEQUE_ADMINISTRATIVO",
	"CHEQUE_VISADO":                                                                                                       "CHEQUE_VISADO",
	"SAQUE_CONTA_DEPOSITO_A_VISTA_POUPANCA_PRESENCIAL_OU_PESSOAL":                                                         "SAQUE_PESSOAL",
	"SAQUE_CONTA_DEPOSITO_A_VISTA_POUPANCA_TERMINAL_AUTOATENDIMENTO":                                                      "SAQUE_TERMINAL",
	"SAQUE_CONTA_DEPOSITO_A_VISTA_POUPANCA_CORRESPONDENTES_PAIS":                                                          "SAQUE_CORRESPONDENTE",
	"DEPOSITO_IDENTIFICADO":                                                                                               "DEPOSITO_IDENTIFICADO",
	"FORNECIMENTO_EXTRATO_MENSAL_CONTA_DEPOSITOS_A_VISTA_E_POUPANCA_PRESENCIAL_OU_PESSOAL":                                "EXTRATO_MES_P",
	"FORNECIMENTO_EXTRATO_MENSAL_CONTA_DEPOSITOS_A_VISTA_E_POUPANCA_TERMINAL_AUTOATENDIMENTO":                             "EXTRATO_MES_E",
	"FORNECIMENTO_EXTRATO_MENSAL_CONTA_DEPOSITOS_A_VISTA_E_POUPANCA_CORRESPONDENTES_PAIS":                                 "EXTRATO_MES_C",
	"FORNECIMENTO_EXTRATO_DE_UM_PERIODO_CONTA_DEPOSITOS_A_VISTA_E_POUPANCA_PRESENCIAL_OU_PESSOAL":                         "EXTRATO_MOVIMENTO_P",
	"FORNECIMENTO_EXTRATO_DE_UM_PERIODO_CONTA_DEPOSITOS_A_VISTA_E_POUPANCA_TERMINAL_AUTOATENDIMENTO":                      "EXTRATO_MOVIMENTO_E",
	"FORNECIMENTO_EXTRATO_DE_UM_PERIODO_CONTA_DEPOSITOS_A_VISTA_E_POUPANCA_CORRESPONDENTES_PAIS":                          "EXTRATO_MOVIMENTO_C",
	"FORNECIMENTO_COPIA_MICROFILME_MICROFICHA_ASSEMELHADO":                                                                "MICROFILME",
	"TRANSFERENCIA_DOC_PESSOAL_OU_PRESENCIAL":                                                                             "DOC_PESSOAL",
	"TRANSFERENCIA_DOC_TERMINAL_AUTOATENDIMENTO_OUTROS_MEIOS_ELETRONICOS":                                                 "DOC_ELETRONICO",
	"TRANSFERENCIA_DOC_INTERNET":                                                                                          "DOC_INTERNET",
	"TRANSFERENCIA_TED_PESSOAL_OU_PRESENCIAL":                                                                             "TED_PESSOAL",
	"TRANSFERENCIA_TED_TERMINAL_AUTOATENDIMENTO_OUTROS_MEIOS_ELETRONICOS":                                                 "TED_ELETRONICO",
	"TRANSFERENCIA_TED_INTERNET":                                                                                          "TED_INTERNET",
	"TRANSFERENCIA_DOC_TED_PESSOAL_OU_PRESENCIAL":                                                                         "DOC_TED_AGENDADO_P",
	"TRANSFERENCIA_DOC_TED_TERMINAL_AUTOATENDIMENTO_OUTROS_MEIOS_ELETRONICOS":                                             "DOC_TED_AGENDADO_E",
	"TRANSFERENCIA_DOC_TED_INTERNET":                                                                                      "DOC_TED_AGENDADO_I",
	"TRANSFERENCIA_ENTRE_CONTAS_PROPRIA_INSTITUICAO_PESSOAL_OU_PRESENCIAL":                                                "TRANSF_RECURSO_P",
	"TRANSFERENCIA_ENTRE_CONTAS_PROPRIA_INSTITUICAO_TERMINAL_AUTOATENDIMENTO_OUTROS_MEIOS_ELETRONICOS_INCLUSIVE_INTERNET": "TRANSF_RECURSO_E",
	"ORDEM_PAGAMENTO":                                         "ORDEM_PAGAMENTO",
	"ANUIDADE_CARTAO_BASICO_NACIONAL":                         "ANUIDADE_NACIONAL",
	"ANUIDADE_CARTAO_BASICO_INTERNACIONAL":                    "ANUIDADE_INTERNACIONAL",
	"ANUIDADE_DIFERENCIADA":                                   "ANUIDADE_DIFERENCIADA",
	"UTILIZACAO_CANAIS_ATENDIMENTO_RETIRADA_ESPECIE_BRASIL":   "SAQUE_CARTAO_BRASIL",
	"UTILIZACAO_CANAIS_ATENDIMENTO_RETIRADA_ESPECIE_EXTERIOR": "SAQUE_CARTAO_EXTERIOR",
	"AVALIACAO_EMERGENCIAL_CREDITO":                           "AVALIACAO_EMERGENCIAL_CREDITO",
	"FORNECIMENTO_SEGUNDA_VIA_FUNCAO_CREDITO":                 "EMISSAO_SEGUNDA_VIA",
	"PAGAMENTO_CONTAS_UTILIZANDO_FUNCAO_CREDITO":              "TARIFA_PAGAMENTO_CONTAS",
	"SMS": "SMS",
}
