package opendata

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/events"
)

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in    string
		units int64
		scale int
	}{
		{"45.00", 45_000_000, 2},
		{"0.1500", 150_000, 4},
		{"0.150000", 150_000, 6},
		{"2000", 2_000_000_000, 0},
		{"-1.5", -1_500_000, 1},
		{"000123.4", 123_400_000, 1},
		{"999999999999.999999", 999_999_999_999_999_999, 6},
	} {
		u, s, reason := parseDecimal(c.in)
		require.Empty(t, reason, c.in)
		require.Equal(t, c.units, u, c.in)
		require.Equal(t, c.scale, s, c.in)
	}
	for in, want := range map[string]string{
		"abc":              `value "abc" is not a decimal`,
		"":                 `value "" is not a decimal`,
		"1.":               `value "1." is not a decimal`,
		".5":               `value ".5" is not a decimal`,
		"-":                `value "-" is not a decimal`,
		"1e5":              `value "1e5" is not a decimal`,
		" 1":               `value " 1" is not a decimal`,
		"+1":               `value "+1" is not a decimal`,
		"1,50":             `value "1,50" is not a decimal`,
		"NA":               `value "NA" is not a decimal`,
		"0.1234567":        `value "0.1234567" has more than 6 decimal places`,
		"1234567890123.00": `value "1234567890123.00" does not fit DECIMAL(18,6)`,
		"1.5.5":            `value "1.5.5" is not a decimal`,
	} {
		_, _, reason := parseDecimal(in)
		require.Equal(t, want, reason, in)
	}
}

func TestOpenDataExampleDuplicatedBandsAreQuarantined(t *testing.T) {
	tr, _ := newTestTransformer(t)
	tr.Add("ofp.opendata.raw", 2, 41, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts",
		readTestdata(t, "opendata-personal-accounts.json"))))
	got := flush(t, tr)

	require.Empty(t, got[DatasetFees]) // every element of the staged example repeats 1_FAIXA
	require.Empty(t, got[DatasetFindings], "the example is schema-valid")
	q := got[DatasetQuarantine]
	require.Len(t, q, 3)
	for _, r := range q {
		require.Equal(t, KindFee, r["kind"])
		require.Equal(t, "band 1_FAIXA duplicated", r["reason"])
		require.Equal(t, int32(0), r["record_index"])
		require.Contains(t, r["raw"], `"interval"`)
		require.Equal(t, "00416968000101", r["institution_cnpj"]) // the participant's, not the directory's
		require.Equal(t, "Empresa A1", r["institution_name"])
		require.Equal(t, "Banco Inter S.A.", r["brand"])
	}
	p := got[DatasetPages]
	require.Len(t, p, 1)
	require.Equal(t, int32(1), p[0]["records"])
	require.Nil(t, p[0]["parse_error"])
	require.Equal(t, "raw/obj-1.json", p[0]["raw_object"])
	require.Equal(t, int32(200), p[0]["status_code"])
	require.Equal(t, fetchedAt, p[0]["collected_at"])
	require.Equal(t, "Directory Brand", p[0]["brand"])
}

func TestOpenDataAccountsFixedBands(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := mutateJSON(t, readTestdata(t, "opendata-personal-accounts.json"), func(d map[string]any) { fixBands(d) })
	tr.Add("ofp.opendata.raw", 0, 5, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	got := flush(t, tr)
	require.Empty(t, got[DatasetQuarantine])
	fees := got[DatasetFees]
	require.Len(t, fees, 3)

	prio := only(t, fees, func(r map[string]any) bool { return r["fee_group"] == "priorityServices" })
	require.Equal(t, "CADASTRO", prio["service_code"])
	require.Equal(t, "TRANSFERENCIA_TED_PESSOAL_OU_PRESENCIAL", prio["service_name"])
	require.Equal(t, "CONTA_DEPOSITO_A_VISTA", prio["product_type"])
	require.Equal(t, "personal", prio["segment"])
	require.Equal(t, "BRL", prio["currency"])
	require.Equal(t, "1350.000000", prio["minimum"])
	require.Equal(t, "8800.000000", prio["maximum"])
	require.Equal(t, "2000.000000", prio["band1_median"])
	require.Equal(t, "2000.000000", prio["band4_median"])
	require.Equal(t, "0.150000", prio["band3_customers"])
	// name is TED_PESSOAL's, code is CADASTRO; customers sum to 0.6.
	require.Equal(t, "customer_rates_sum_not_1;name_code_mismatch", prio["flags"])

	bundle := only(t, fees, func(r map[string]any) bool { return r["fee_group"] == "serviceBundles" })
	require.Equal(t, "Conta de depósitos à vista Movimentação com cartão (sem cheque)", bundle["service_code"])
	require.Equal(t, "2000.000000", bundle["band2_median"]) // monthlyFee
	require.Equal(t, "opendata-accounts", bundle["family"])
	require.Equal(t, "1.0.1", bundle["api_version"])
}

func TestOpenDataLoansAndCardsRates(t *testing.T) {
	tr, _ := newTestTransformer(t)
	loans := mutateJSON(t, readTestdata(t, "opendata-personal-loans.json"), func(d map[string]any) { fixBands(d) })
	cards := mutateJSON(t, readTestdata(t, "opendata-business-credit-cards.json"), func(d map[string]any) { fixBands(d) })
	tr.Add("ofp.opendata.raw", 0, 1, pageValue(t, page("opendata-loans", "1.0.1", "personal-loans", loans)))
	tr.Add("ofp.opendata.raw", 0, 2, pageValue(t, page("opendata-creditcards", "1.0.1", "business-credit-cards", cards)))
	got := flush(t, tr)
	require.Empty(t, got[DatasetQuarantine])

	rates := got[DatasetRates]
	require.Len(t, rates, 3) // loans: 1; cards: interest.rates + interest.instalmentRates
	loan := only(t, rates, func(r map[string]any) bool { return r["product"] == "personal-loans" })
	require.Equal(t, "PRE_FIXADO", loan["indexer"])
	require.Equal(t, "0.150000", loan["rate"])
	require.Equal(t, "0.870000", loan["band1_rate"])
	require.Equal(t, "0.150000", loan["band4_customers"])
	require.Equal(t, "0.045600", loan["minimum_rate"])
	require.Equal(t, "0.686500", loan["maximum_rate"])
	require.Equal(t, "EMPRESTIMO_CREDITO_PESSOAL_CONSIGNADO", loan["product_type"])
	require.Equal(t, "customer_rates_sum_not_1", loan["flags"])

	for _, r := range rates {
		if r["product"] != "business-credit-cards" {
			continue
		}
		require.Equal(t, "PLATINUM", r["product_type"])
		require.Equal(t, "business", r["segment"])
		// The card example lacks requiredWarranties, which 1.0.1 requires.
		require.True(t, hasFlag(r, FlagSchemaViolation), r["flags"])
	}
	f := only(t, got[DatasetFindings], func(r map[string]any) bool { return r["product"] == "business-credit-cards" })
	require.Equal(t, "/requiredWarranties", f["field"])
	require.Equal(t, "required", f["rule"])
	require.Equal(t, int32(0), f["record_index"])
	fee := only(t, got[DatasetFees], func(r map[string]any) bool { return r["product"] == "business-credit-cards" })
	require.Equal(t, "ANUIDADE_NACIONAL", fee["service_code"])
	require.Equal(t, "services", fee["fee_group"])
}

// countElements counts fee and rate elements of a products-services page.
func countElements(t *testing.T, body, key string) (fees, rates int) {
	// Companies are decoded leniently: only the product arrays matter here.
	var raw struct {
		Data struct {
			Brand struct {
				Companies []map[string]json.RawMessage `json:"companies"`
			} `json:"brand"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &raw))
	for _, c := range raw.Data.Brand.Companies {
		var prods []struct {
			Fees struct {
				PriorityServices, OtherServices, Services []json.RawMessage
			} `json:"fees"`
			ServiceBundles []json.RawMessage `json:"serviceBundles"`
			InterestRates  []json.RawMessage `json:"interestRates"`
		}
		require.NoError(t, json.Unmarshal(c[key], &prods))
		for _, p := range prods {
			fees += len(p.Fees.PriorityServices) + len(p.Fees.OtherServices) + len(p.Fees.Services) + len(p.ServiceBundles)
			rates += len(p.InterestRates)
		}
	}
	return fees, rates
}

func TestProductsServicesV1Loans(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := readTestdata(t, "ps-personal-loans.json")
	tr.Add("ofp.opendata.raw", 1, 100, pageValue(t, page("products-services", "1", "personal-loans", body)))
	got := flush(t, tr)

	wantFees, wantRates := countElements(t, body, "personalLoans")
	require.Equal(t, wantFees, len(got[DatasetFees])+countKind(got[DatasetQuarantine], KindFee))
	require.Equal(t, wantRates, len(got[DatasetRates])+countKind(got[DatasetQuarantine], KindRate))
	require.NotEmpty(t, got[DatasetFees])
	require.NotEmpty(t, got[DatasetRates])

	fee := got[DatasetFees][0]
	require.Equal(t, "CADASTRO", fee["service_code"])
	require.Equal(t, "Taxa de Cadastro", fee["service_name"])
	require.Equal(t, "EMPRESTIMO_HOME_EQUITY", fee["product_type"])
	require.Equal(t, "0.000000", fee["band1_median"])
	require.Equal(t, "500.000000", fee["band4_median"])
	require.Equal(t, "1.000000", fee["band4_customers"])
	require.Equal(t, "0.000000", fee["minimum"])
	require.Equal(t, "500.000000", fee["maximum"])
	require.Equal(t, "60746948000112", fee["institution_cnpj"])
	require.Equal(t, "Banco Bradesco S.A", fee["institution_name"])
	require.Equal(t, "Banco Bradesco S.A", fee["brand"])
	require.Equal(t, "rate_scale_4;schema_violation", fee["flags"])

	rate := got[DatasetRates][0]
	require.Equal(t, "PRE_FIXADO", rate["indexer"])
	require.Equal(t, "0.030000", rate["rate"])
	require.Equal(t, "1.000000", rate["band4_rate"])
	require.Equal(t, "1.000000", rate["maximum_rate"])
	require.Equal(t, "rate_scale_2;rate_scale_4;schema_violation", rate["flags"])

	// v1 loans do not match any products-services 1.0.x revision: findings per record.
	recs := map[int32]bool{}
	for _, f := range got[DatasetFindings] {
		require.NotEmpty(t, f["rule"])
		recs[f["record_index"].(int32)] = true
	}
	require.True(t, recs[0])
	require.Equal(t, int32(10), got[DatasetPages][0]["records"])
}

func countKind(rows []map[string]any, kind string) int {
	n := 0
	for _, r := range rows {
		if r["kind"] == kind {
			n++
		}
	}
	return n
}

func TestProductsServicesV1ProductKeyMismatch(t *testing.T) {
	tr, _ := newTestTransformer(t)
	// This business-accounts example lists its products under "personalAccounts".
	tr.Add("ofp.opendata.raw", 0, 1, pageValue(t, page("products-services", "1.0.2", "business-accounts",
		readTestdata(t, "ps-business-accounts.json"))))
	got := flush(t, tr)
	var keyFindings int
	for _, f := range got[DatasetFindings] {
		if f["rule"] == "product_key" {
			keyFindings++
			require.Contains(t, f["message"], `"personalAccounts"`)
		}
	}
	require.Equal(t, 10, keyFindings) // one per company
	require.NotEmpty(t, got[DatasetFees])
	require.Equal(t, "business", got[DatasetFees][0]["segment"])
}

func TestProductsServicesV1CreditCards(t *testing.T) {
	tr, _ := newTestTransformer(t)
	tr.Add("ofp.opendata.raw", 0, 1, pageValue(t, page("products-services", "1.0.0", "business-credit-cards",
		readTestdata(t, "ps-business-credit-cards.json"))))
	got := flush(t, tr)
	require.Empty(t, got[DatasetFindings], "the example matches products-services 1.0.2")
	require.NotEmpty(t, got[DatasetFees])
	require.Equal(t, "PLATINUM", got[DatasetFees][0]["product_type"])
	// Card rates are published as "NA" with 4-decimal bands: the rate is null, flagged.
	require.NotEmpty(t, got[DatasetRates])
	r := got[DatasetRates][0]
	require.Nil(t, r["rate"])
	require.Nil(t, r["minimum_rate"])
	require.True(t, hasFlag(r, FlagNotApplicable))
}

// feePage returns an opendata-accounts page whose only product has the given
// otherServices element next to one clean priority service.
func feePage(t *testing.T, mutate func(fee map[string]any)) string {
	t.Helper()
	return mutateJSON(t, readTestdata(t, "opendata-personal-accounts.json"), func(d map[string]any) {
		fixBands(d)
		prod := d["data"].([]any)[0].(map[string]any)
		fees := prod["fees"].(map[string]any)
		other := fees["otherServices"].([]any)[0].(map[string]any)
		mutate(other)
		delete(prod, "serviceBundles")
	})
}

func prices(fee map[string]any) []any { return fee["prices"].([]any) }

func price(fee map[string]any, i int) map[string]any { return prices(fee)[i].(map[string]any) }

func TestFeeQuarantineReasons(t *testing.T) {
	cases := map[string]func(f map[string]any){
		"band 2_FAIXA duplicated":                                         func(f map[string]any) { price(f, 2)["interval"] = "2_FAIXA" },
		`2_FAIXA value: value "abc" is not a decimal`:                     func(f map[string]any) { price(f, 1)["value"] = "abc" },
		`1_FAIXA value: value "1.1234567" has more than 6 decimal places`: func(f map[string]any) { price(f, 0)["value"] = "1.1234567" },
		"missing band 3_FAIXA":                                            func(f map[string]any) { f["prices"] = append(prices(f)[:2:2], prices(f)[3]) },
		`unknown band "5_FAIXA"`:                                          func(f map[string]any) { price(f, 3)["interval"] = "5_FAIXA" },
		"4_FAIXA value: value 45 is not a decimal string":                 func(f map[string]any) { price(f, 3)["value"] = 45 },
		"missing 1_FAIXA value":                                           func(f map[string]any) { delete(price(f, 0), "value") },
		`4_FAIXA customers.rate: value "15%" is not a decimal`:            func(f map[string]any) { price(f, 3)["customers"] = map[string]any{"rate": "15%"} },
		"missing service code":                                            func(f map[string]any) { delete(f, "code") },
		"2_FAIXA: missing currency":                                       func(f map[string]any) { delete(price(f, 1), "currency") },
		"currencies differ between bands (BRL, USD)":                      func(f map[string]any) { price(f, 2)["currency"] = "USD" },
		"missing maximum":                                                 func(f map[string]any) { delete(f, "maximum") },
		"minimum currency USD differs from band currency BRL": func(f map[string]any) {
			f["minimum"].(map[string]any)["currency"] = "USD"
		},
		"no prices": func(f map[string]any) { f["prices"] = []any{} },
		"unknown fee shape: prices is a JSON string": func(f map[string]any) { f["prices"] = "2000.00" },
	}
	for reason, mutate := range cases {
		t.Run(reason, func(t *testing.T) {
			tr, _ := newTestTransformer(t)
			tr.Add("ofp.opendata.raw", 0, 9, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", feePage(t, mutate))))
			got := flush(t, tr)
			q := got[DatasetQuarantine]
			require.Len(t, q, 1)
			require.Equal(t, KindFee, q[0]["kind"])
			require.Equal(t, reason, q[0]["reason"])
			require.Contains(t, q[0]["raw"], `"Evento personalizado"`, "the raw element is kept")
			// The clean priority service of the same record is still used.
			require.Len(t, got[DatasetFees], 1)
			require.Equal(t, "priorityServices", got[DatasetFees][0]["fee_group"])
		})
	}
}

func TestFeeQuarantineWholeGroup(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := mutateJSON(t, readTestdata(t, "opendata-personal-accounts.json"), func(d map[string]any) {
		fixBands(d)
		prod := d["data"].([]any)[0].(map[string]any)
		prod["fees"].(map[string]any)["otherServices"] = map[string]any{"code": "X"}
	})
	tr.Add("ofp.opendata.raw", 0, 9, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	got := flush(t, tr)
	q := only(t, got[DatasetQuarantine], func(map[string]any) bool { return true })
	require.Equal(t, "unknown fee shape: otherServices is not an array", q["reason"])
	require.Equal(t, `{"code":"X"}`, q["raw"])
	require.Len(t, got[DatasetFees], 2) // priority service + bundle
	for _, f := range got[DatasetFees] {
		require.True(t, hasFlag(f, FlagSchemaViolation))
	}
}

func TestReadableOdditiesAreFlagged(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := feePage(t, func(f map[string]any) {
		for i, rate := range []string{"0.1500", "0.2500", "0.3500", "0.2500"} {
			price(f, i)["customers"] = map[string]any{"rate": rate}
			price(f, i)["currency"] = "USD"
			price(f, i)["value"] = []string{"45.00", "50.5", "60", "70.123456"}[i]
		}
		f["minimum"] = map[string]any{"value": "NA", "currency": "USD"}
		f["maximum"] = map[string]any{"value": "99.99", "currency": "USD"}
	})
	tr.Add("ofp.opendata.raw", 0, 9, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	got := flush(t, tr)
	require.Empty(t, got[DatasetQuarantine])
	f := only(t, got[DatasetFees], func(r map[string]any) bool { return r["fee_group"] == "otherServices" })
	require.Equal(t, "0.150000", f["band1_customers"])
	require.Equal(t, "45.000000", f["band1_median"])
	require.Equal(t, "50.500000", f["band2_median"])
	require.Equal(t, "60.000000", f["band3_median"])
	require.Equal(t, "70.123456", f["band4_median"])
	require.Nil(t, f["minimum"])
	require.Equal(t, "99.990000", f["maximum"])
	require.Equal(t, "USD", f["currency"])
	// Sum is 1.0 exactly: no sum flag. Values break the 2-decimal pattern: schema_violation.
	require.Equal(t, "non_brl_currency;not_applicable;rate_scale_4;schema_violation", f["flags"])
}

func TestRateQuarantineReasons(t *testing.T) {
	base := readTestdata(t, "opendata-personal-loans.json")
	cases := map[string]func(r map[string]any){
		"band 1_FAIXA duplicated":          func(r map[string]any) { r["applications"].([]any)[1].(map[string]any)["interval"] = "1_FAIXA" },
		"missing band 4_FAIXA":             func(r map[string]any) { r["applications"] = r["applications"].([]any)[:3] },
		`rate: value "x" is not a decimal`: func(r map[string]any) { r["rate"] = "x" },
		`2_FAIXA indexer.rate: value "0.12345678" has more than 6 decimal places`: func(r map[string]any) {
			r["applications"].([]any)[1].(map[string]any)["indexer"] = map[string]any{"rate": "0.12345678"}
		},
		"missing referentialRateIndexer":                    func(r map[string]any) { delete(r, "referentialRateIndexer") },
		"unknown rate shape: applications is a JSON object": func(r map[string]any) { r["applications"] = map[string]any{} },
	}
	for reason, mutate := range cases {
		t.Run(reason, func(t *testing.T) {
			tr, _ := newTestTransformer(t)
			body := mutateJSON(t, base, func(d map[string]any) {
				fixBands(d)
				prod := d["data"].([]any)[0].(map[string]any)
				rates := prod["interestRates"].([]any)
				clean := map[string]any{}
				b, _ := json.Marshal(rates[0])
				require.NoError(t, json.Unmarshal(b, &clean))
				mutate(rates[0].(map[string]any))
				prod["interestRates"] = append(rates, clean)
			})
			tr.Add("ofp.opendata.raw", 0, 9, pageValue(t, page("opendata-loans", "1.0.1", "personal-loans", body)))
			got := flush(t, tr)
			q := got[DatasetQuarantine]
			require.Len(t, q, 1)
			require.Equal(t, KindRate, q[0]["kind"])
			require.Equal(t, reason, q[0]["reason"])
			require.Len(t, got[DatasetRates], 1, "the clean rate next to it is used")
			require.Len(t, got[DatasetFees], 1)
		})
	}
}

func TestBadPages(t *testing.T) {
	good := readTestdata(t, "opendata-personal-loans.json")
	cases := []struct {
		name   string
		mutate func(p *events.OpenDataPage)
		reason string
	}{
		{"not json", func(p *events.OpenDataPage) { p.Body = "<html>oops</html>" }, "body is not valid JSON (malformed or truncated)"},
		{"truncated", func(p *events.OpenDataPage) { p.Body = good[:len(good)/2] }, "body is not valid JSON (malformed or truncated)"},
		{"empty", func(p *events.OpenDataPage) { p.Body = "" }, "body is not valid JSON (malformed or truncated)"},
		{"data object", func(p *events.OpenDataPage) { p.Body = `{"data":{"x":1}}` }, "unexpected opendata page shape: no data array"},
		{"no data", func(p *events.OpenDataPage) { p.Body = `{"links":{}}` }, "unexpected opendata page shape: no data array"},
		{"array body", func(p *events.OpenDataPage) { p.Body = `[1,2]` }, "unexpected opendata page shape: "},
		{"status 500", func(p *events.OpenDataPage) { p.StatusCode = 500 }, "HTTP status 500"},
		{"status 0", func(p *events.OpenDataPage) { p.StatusCode = 0 }, "HTTP status 0"},
		{"unknown product", func(p *events.OpenDataPage) { p.Product = "branches" }, `product "branches" is not a fee/rate product`},
		{"unknown family", func(p *events.OpenDataPage) { p.Family = "channels" }, `family "channels" is not an open-data fee/rate family`},
		{"v1 given an opendata body", func(p *events.OpenDataPage) { p.Family = "products-services" }, "unexpected products-services page shape: data is a JSON array"},
		{"v1 without companies", func(p *events.OpenDataPage) {
			p.Family, p.Body = "products-services", `{"data":{"brand":{"name":"B"}}}`
		}, "unexpected products-services page shape: no data.brand.companies array"},
		{"v1 wrong type", func(p *events.OpenDataPage) {
			p.Family, p.Body = "products-services", `{"data":{"brand":{"companies":"x"}}}`
		}, "unexpected products-services page shape: data.brand.companies is a JSON string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, _ := newTestTransformer(t)
			p := page("opendata-loans", "1.0.1", "personal-loans", good)
			c.mutate(&p)
			tr.Add("ofp.opendata.raw", 3, 77, pageValue(t, p))
			got := flush(t, tr)
			q := only(t, got[DatasetQuarantine], func(map[string]any) bool { return true })
			require.Equal(t, KindPage, q["kind"])
			require.True(t, strings.HasPrefix(q["reason"].(string), c.reason), q["reason"])
			require.Equal(t, rawText([]byte(p.Body)), q["raw"])
			require.Equal(t, int32(-1), q["record_index"])
			pg := only(t, got[DatasetPages], func(map[string]any) bool { return true })
			require.Equal(t, q["reason"], pg["parse_error"])
			require.Equal(t, int32(0), pg["records"])
			require.Equal(t, int64(len(p.Body)), pg["bytes"])
			require.Empty(t, got[DatasetFees])
			require.Empty(t, got[DatasetRates])
		})
	}
}

func TestBadKafkaValues(t *testing.T) {
	for name, c := range map[string]struct {
		value  []byte
		reason string
	}{
		"garbage":     {[]byte("\xff\x00not json"), "events: not an envelope: "},
		"no type":     {[]byte(`{"id":"1"}`), "events: envelope has no type"},
		"other type":  {[]byte(`{"id":"1","type":"ofp.consent.v1","payload":{}}`), `unexpected event type "ofp.consent.v1"`},
		"bad payload": {[]byte(`{"id":"1","type":"ofp.opendata.page.v1","payload":[1]}`), "payload is not an open-data page: "},
		"bad status":  {[]byte(`{"id":"1","type":"ofp.opendata.collection.v1","payload":{"pages":"x"}}`), "payload is not a collection status: "},
	} {
		t.Run(name, func(t *testing.T) {
			tr, _ := newTestTransformer(t)
			tr.Add("ofp.opendata.raw", 0, 1, c.value)
			got := flush(t, tr)
			require.Len(t, got, 2, "no content: a quarantine row of its own, in the view")
			require.Equal(t, got[DatasetQuarantineRows], got[DatasetQuarantine])
			q := only(t, got[DatasetQuarantine], func(map[string]any) bool { return true })
			require.Equal(t, KindPage, q["kind"])
			require.True(t, strings.HasPrefix(q["reason"].(string), c.reason), q["reason"])
			require.Equal(t, int64(1), q["src_offset"])
		})
	}
}

func TestSchemaInvalidRecordKeepsCleanFees(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := mutateJSON(t, readTestdata(t, "opendata-personal-accounts.json"), func(d map[string]any) {
		fixBands(d)
		prod := d["data"].([]any)[0].(map[string]any)
		delete(prod, "type")
		prod["openingClosingChannels"] = "DEPENDENCIAS_PROPRIAS"
	})
	tr.Add("ofp.opendata.raw", 0, 1, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	got := flush(t, tr)
	fields := map[string]string{}
	for _, f := range got[DatasetFindings] {
		fields[f["field"].(string)] = f["rule"].(string)
		require.Equal(t, int32(0), f["record_index"])
		require.NotEmpty(t, f["message"])
	}
	require.Equal(t, map[string]string{"/type": "required", "/openingClosingChannels": "type"}, fields)
	require.Len(t, got[DatasetFees], 3)
	for _, f := range got[DatasetFees] {
		require.True(t, hasFlag(f, FlagSchemaViolation))
		require.Equal(t, "", f["product_type"])
	}
	require.Empty(t, got[DatasetQuarantine])
}

func TestUnknownSpecBecomesFinding(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := mutateJSON(t, readTestdata(t, "opendata-personal-loans.json"), func(d map[string]any) { fixBands(d) })
	tr.Add("ofp.opendata.raw", 0, 1, pageValue(t, page("opendata-loans", "2.0.0", "personal-loans", body)))
	got := flush(t, tr)
	f := only(t, got[DatasetFindings], func(map[string]any) bool { return true })
	require.Equal(t, "unknown_spec", f["rule"])
	require.Equal(t, int32(-1), f["record_index"])
	require.Len(t, got[DatasetFees], 1, "rows are still extracted, unvalidated")
	require.Equal(t, "customer_rates_sum_not_1", got[DatasetFees][0]["flags"])
}

func TestSrcColumnsItemIndexAndFlush(t *testing.T) {
	tr, _ := newTestTransformer(t)
	body := mutateJSON(t, readTestdata(t, "opendata-personal-accounts.json"), func(d map[string]any) {
		fixBands(d)
		d["data"] = []any{d["data"].([]any)[0], d["data"].([]any)[0]} // two products: 6 fees
	})
	tr.Add("ofp.opendata.raw", 4, 7, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	tr.Add("ofp.opendata.raw", 4, 8, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	got := flush(t, tr)
	fees := got[DatasetFees]
	require.Len(t, fees, 12)
	for i, f := range fees {
		require.Equal(t, "ofp.opendata.raw", f["src_topic"])
		require.Equal(t, int32(4), f["src_partition"])
		require.Equal(t, int64(7+i/6), f["src_offset"])
		require.Equal(t, int32(i%6), f["item_index"])
	}
	pages := got[DatasetPages]
	require.Len(t, pages, 2)
	require.Equal(t, int32(0), pages[1]["item_index"])
	require.Equal(t, int64(8), pages[1]["src_offset"])

	require.Empty(t, tr.Flush(), "Flush resets")
	tr.Add("ofp.opendata.raw", 4, 9, pageValue(t, page("opendata-accounts", "1.0.1", "personal-accounts", body)))
	again := flush(t, tr)
	require.Len(t, again[DatasetFees], 6)
	require.Equal(t, int32(0), again[DatasetFees][0]["item_index"])
}

func TestCollectionStatusRow(t *testing.T) {
	tr, _ := newTestTransformer(t)
	st := events.CollectionStatus{
		CollectionID: "col-9", Institution: events.Institution{OrganisationID: "o", OrganisationName: "On", CNPJ: "1", Brand: "B", Simulated: true},
		StartedAt: fetchedAt, FinishedAt: fetchedAt.Add(90e9), Status: "partial",
		Endpoints: 12, Pages: 30, FailedPages: 2, Retries: 5, Errors: []string{"a: 500", "b: timeout"},
		NotOffered: []string{"products-services/business-accounts", "products-services/business-loans"},
	}
	tr.Add("ofp.opendata.raw", 0, 3, envelope(t, events.TypeOpenDataCollection, st))
	st.Errors, st.NotOffered = nil, nil
	tr.Add("ofp.opendata.raw", 0, 4, envelope(t, events.TypeOpenDataCollection, st))
	got := flush(t, tr)
	require.Len(t, got, 1)
	rows := got[DatasetCollections]
	require.Len(t, rows, 2)
	require.Equal(t, map[string]any{
		"collection_id": "col-9", "organisation_id": "o", "organisation_name": "On", "institution_cnpj": "1",
		"brand": "B", "simulated": true, "started_at": fetchedAt, "finished_at": fetchedAt.Add(90e9),
		"status": "partial", "endpoints": int32(12), "pages": int32(30), "failed_pages": int32(2), "retries": int32(5),
		"errors": "a: 500\nb: timeout", "src_topic": "ofp.opendata.raw", "src_partition": int32(0),
		"src_offset": int64(3), "item_index": int32(0),
		"not_offered": "products-services/business-accounts\nproducts-services/business-loans",
	}, rows[0])
	require.Nil(t, rows[1]["errors"])
	require.Nil(t, rows[1]["not_offered"])
}

func TestSchemasMatchContract(t *testing.T) {
	for _, name := range Datasets {
		s := Schema(name)
		require.NotNil(t, s, name)
		n := s.NumFields()
		switch name {
		case DatasetFeeItems, DatasetRateItems:
			require.Equal(t, []string{"content_key", "item_index", "record_institution_cnpj", "record_institution_name", "record_brand", "product_type"},
				[]string{s.Field(0).Name, s.Field(1).Name, s.Field(2).Name, s.Field(3).Name, s.Field(4).Name, s.Field(5).Name}, name)
			continue
		case DatasetFindingItems, DatasetQuarantineItems:
			require.Equal(t, []string{"content_key", "item_index", "record_institution_cnpj", "record_institution_name", "record_brand", "record_index"},
				[]string{s.Field(0).Name, s.Field(1).Name, s.Field(2).Name, s.Field(3).Name, s.Field(4).Name, s.Field(5).Name}, name)
			continue
		}
		if name == DatasetCollections { // a column added later comes after the source columns
			require.Equal(t, "not_offered", s.Field(n-1).Name)
			require.True(t, s.Field(n-1).Nullable)
			n--
		}
		require.Equal(t, []string{"src_topic", "src_partition", "src_offset", "item_index"},
			[]string{s.Field(n - 4).Name, s.Field(n - 3).Name, s.Field(n - 2).Name, s.Field(n - 1).Name}, name)
	}
	require.Nil(t, Schema("nope"))
	require.Nil(t, Schema(DatasetFees), "a warehouse view, not a dataset the Transformer writes")
	fees := Schema(DatasetFeeItems)
	require.Equal(t, 5+17, fees.NumFields())
	require.Equal(t, "flags", fees.Field(21).Name)
	require.Equal(t, fmt.Sprint(tDec), fmt.Sprint(fees.Field(13).Type))
	pages := Schema(DatasetPages)
	require.Equal(t, "content_key", pages.Field(pages.NumFields()-5).Name)
}

// TestNotApplicableGroupsAreEmpty: products-services 1.0.2 requires an
// interestRate it never declares (beside interestRates), and participants
// send "NA" there; a fee or rate group, or the fees object, that is "NA"
// has no figures: nothing is used and nothing quarantined. Any other
// non-array is still quarantined.
func TestNotApplicableGroupsAreEmpty(t *testing.T) {
	body := readTestdata(t, "ps-personal-loans.json")
	wantFees, wantRates := countElements(t, body, "personalLoans")
	withNA := func(first string) string {
		return mutateJSON(t, body, func(d map[string]any) {
			for ci, c := range d["data"].(map[string]any)["brand"].(map[string]any)["companies"].([]any) {
				for pi, p := range c.(map[string]any)["personalLoans"].([]any) {
					p.(map[string]any)["interestRate"] = "NA"
					if ci == 0 && pi == 0 {
						p.(map[string]any)["interestRate"] = first
					}
					// 1.0.2 wants each service's customers: the page is then
					// valid, and read by the compiled check's path.
					for _, s := range p.(map[string]any)["fees"].(map[string]any)["services"].([]any) {
						s.(map[string]any)["customers"] = map[string]any{"rate": "0.2500"}
					}
				}
			}
		})
	}

	tr, _ := newTestTransformer(t)
	tr.Add("ofp.opendata.raw", 1, 100, pageValue(t, page("products-services", "1.0.2", "personal-loans", withNA("NA"))))
	got := flush(t, tr)
	require.Empty(t, got[DatasetFindings], "a valid page")
	require.Empty(t, got[DatasetQuarantine], "an NA group is no defect")
	require.Len(t, got[DatasetFees], wantFees)
	require.Len(t, got[DatasetRates], wantRates, "the interestRates beside it are all used")

	tr, _ = newTestTransformer(t)
	tr.Add("ofp.opendata.raw", 1, 101, pageValue(t, page("products-services", "1.0.2", "personal-loans", withNA("N/A"))))
	got = flush(t, tr)
	q := only(t, got[DatasetQuarantine], func(map[string]any) bool { return true })
	require.Equal(t, KindRate, q["kind"])
	require.Equal(t, "unknown rate shape: interestRate is not an array", q["reason"])
	require.Equal(t, `"N/A"`, q["raw"])
	require.Len(t, got[DatasetRates], wantRates)

	// products-services 1.0.0's interestRate object says what it is.
	v100 := mutateJSON(t, withNA("NA"), func(d map[string]any) {
		p := d["data"].(map[string]any)["brand"].(map[string]any)["companies"].([]any)[0].(map[string]any)["personalLoans"].([]any)[0]
		p.(map[string]any)["interestRate"] = map[string]any{"applications": []any{map[string]any{"interval": "1_QUARTIL_CLIENTES", "rate": "0.0100"}},
			"minimumRate": "0.0015", "maximumRate": "0.5100"}
	})
	tr, _ = newTestTransformer(t)
	tr.Add("ofp.opendata.raw", 1, 103, pageValue(t, page("products-services", "1.0.2", "personal-loans", v100)))
	got = flush(t, tr)
	q = only(t, got[DatasetQuarantine], func(map[string]any) bool { return true })
	require.Equal(t, "unknown rate shape: interestRate is the products-services 1.0.0 layout (one object of quartile bands, no indexer), not read as rates", q["reason"])
	require.JSONEq(t, `{"applications":[{"interval":"1_QUARTIL_CLIENTES","rate":"0.0100"}],"maximumRate":"0.5100","minimumRate":"0.0015"}`, q["raw"].(string))

	// The fees object "NA" (schema-invalid: the record takes the path that
	// does not trust the compiled check) is empty too.
	feesNA := mutateJSON(t, withNA("NA"), func(d map[string]any) {
		p := d["data"].(map[string]any)["brand"].(map[string]any)["companies"].([]any)[0].(map[string]any)["personalLoans"].([]any)[0]
		p.(map[string]any)["fees"] = "NA"
	})
	tr, _ = newTestTransformer(t)
	tr.Add("ofp.opendata.raw", 1, 102, pageValue(t, page("products-services", "1.0.2", "personal-loans", feesNA)))
	got = flush(t, tr)
	require.Empty(t, got[DatasetQuarantine])
	require.Less(t, len(got[DatasetFees]), wantFees)
	require.NotEmpty(t, got[DatasetFindings], "the schema violation is a finding")
}

// TestV100CardInterestIsQuarantinedNotDropped: a products-services 1.0.0
// credit card's interest holds feeRate, instalmentRate (objects of quartile
// bands) and interestRates (the same per operation), with no indexer; they
// were read as no rate at all. Each group is quarantined whole with its
// reason, by the compiled path and by encoding/json's (an escaped key sends
// a record there) alike; "NA" or null groups are empty, and 1.0.2's
// otherCredits (codes, no figures) is still nothing to read.
func TestV100CardInterestIsQuarantinedNotDropped(t *testing.T) {
	bands := []any{map[string]any{"interval": "1_QUARTIL_CLIENTES", "rate": "0.1500"}, map[string]any{"interval": "2_QUARTIL_CLIENTES", "rate": "0.2000"},
		map[string]any{"interval": "3_QUARTIL_CLIENTES", "rate": "0.3500"}, map[string]any{"interval": "4_QUARTIL_CLIENTES", "rate": "0.6800"}}
	var cards int
	body := mutateJSON(t, readTestdata(t, "ps-business-credit-cards.json"), func(d map[string]any) {
		for _, c := range d["data"].(map[string]any)["brand"].(map[string]any)["companies"].([]any) {
			for _, card := range c.(map[string]any)["businessCreditCards"].([]any) {
				interest := map[string]any{
					"feeRate":        map[string]any{"prices": bands, "minimumRate": "0.0450", "maximumRate": "0.7000"},
					"instalmentRate": "NA",
					"interestRates": []any{map[string]any{"code": "SAQUE_A_CREDITO", "additionalInfo": "NA", "prices": bands,
						"minimumRate": "0.0450", "maximumRate": "0.7000"}},
					"otherCredits": []any{map[string]any{"code": "OUTROS", "additionalInfo": "NA"}},
				}
				if cards == 0 {
					interest["instalmentRate"] = nil
				}
				card.(map[string]any)["interest"] = interest
				cards++
			}
		}
	})
	require.Greater(t, cards, 2)
	const feeRate = `{"maximumRate":"0.7000","minimumRate":"0.0450","prices":[{"interval":"1_QUARTIL_CLIENTES","rate":"0.1500"},` +
		`{"interval":"2_QUARTIL_CLIENTES","rate":"0.2000"},{"interval":"3_QUARTIL_CLIENTES","rate":"0.3500"},{"interval":"4_QUARTIL_CLIENTES","rate":"0.6800"}]}`
	require.Contains(t, body, `"feeRate":`+feeRate)
	for _, path := range []struct{ name, body string }{
		{"compiled", body},
		{"encoding/json", strings.Replace(body, `"feeRate":`, `"fe\u0065Rate":`, 1)}, // the first card's record only
	} {
		t.Run(path.name, func(t *testing.T) {
			tr, _ := newTestTransformer(t)
			tr.Add("ofp.opendata.raw", 1, 100, pageValue(t, page("products-services", "1", "business-credit-cards", path.body)))
			got := flush(t, tr)
			require.Empty(t, got[DatasetRates], "no band of these is read as a rate")
			reasons := map[string]int{}
			for _, q := range got[DatasetQuarantine] {
				require.Equal(t, KindRate, q["kind"])
				reasons[q["reason"].(string)]++
				if strings.Contains(q["reason"].(string), "feeRate") {
					require.JSONEq(t, feeRate, q["raw"].(string), "the group is kept as received")
				}
			}
			require.Equal(t, map[string]int{
				"unknown rate shape: interest.feeRate is the products-services 1.0.0 layout (quartile bands, no indexer), not read as rates":       cards,
				"unknown rate shape: interest.interestRates is the products-services 1.0.0 layout (quartile bands, no indexer), not read as rates": cards,
			}, reasons, "one row per group and card; the NA and null groups and otherCredits are none")
		})
	}
}
