package oas

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func newValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := New()
	require.NoError(t, err)
	return v
}

// opendataRecord returns data[0] of the opendata-accounts example.
func opendataRecord(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/opendata-personal-accounts.json")
	require.NoError(t, err)
	var doc struct{ Data []map[string]any }
	require.NoError(t, json.Unmarshal(b, &doc))
	require.NotEmpty(t, doc.Data)
	return doc.Data[0]
}

// creditCardRecords returns every product of the products-services example.
func creditCardRecords(t testing.TB) []any {
	t.Helper()
	b, err := os.ReadFile("testdata/ps-business-credit-cards.json")
	require.NoError(t, err)
	var doc struct {
		Data struct {
			Brand struct {
				Companies []struct {
					BusinessCreditCards []any `json:"businessCreditCards"`
				} `json:"companies"`
			} `json:"brand"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	var out []any
	for _, c := range doc.Data.Brand.Companies {
		out = append(out, c.BusinessCreditCards...)
	}
	require.NotEmpty(t, out)
	return out
}

func TestEmbeddedSpecsLoadAndValidate(t *testing.T) {
	v := newValidator(t)
	require.NoError(t, v.validateDocs(context.Background()))
	for _, c := range []struct{ family, product string }{
		{"opendata-accounts", "personal-accounts"},
		{"opendata-creditcards", "business-credit-cards"},
		{"opendata-loans", "personal-loans"},
		{"opendata-financings", "business-financings"},
		{"opendata-invoicefinancings", "personal-invoice-financings"},
		{"opendata-unarranged", "business-unarranged-account-overdraft"},
		{"products-services", "personal-accounts"},
		{"products-services", "business-unarranged-account-overdraft"},
		{"directory-participants", "participants"},
	} {
		_, err := v.Resolve(c.family, "1", c.product)
		require.NoError(t, err, "%s %s", c.family, c.product)
	}
}

func TestResolve(t *testing.T) {
	v := newValidator(t)
	for _, c := range []struct{ family, declared, product, want string }{
		{"products-services", "1", "personal-accounts", "1.0.0"},                     // highest <= 1.0.0
		{"products-services", "1.0.0", "personal-accounts", "1.0.0"},                 // exact
		{"products-services", "1.0.1", "personal-accounts", "1.0.1"},                 // exact
		{"products-services", "1.0.3", "personal-accounts", "1.0.2"},                 // highest <= declared
		{"products-services", "v1.2", "personal-accounts", "1.0.2"},                  // minor revision above all
		{"products-services", "1", "personal-unarranged-account-overdraft", "1.0.2"}, // not in 1.0.0: latest of the major
		{"opendata-accounts", "1.0.0", "personal-accounts", "1.0.1"},
		{"opendata-accounts", "1.0.0-beta.1", "personal-accounts", "1.0.1"},
	} {
		got, err := v.Resolve(c.family, c.declared, c.product)
		require.NoError(t, err, "%+v", c)
		require.Equal(t, c.want, got, "%+v", c)
	}
	for _, c := range []struct{ family, declared, product string }{
		{"opendata-accounts", "2.0.0", "personal-accounts"},
		{"opendata-pensions", "1.0.0", "personal-pensions"},
		{"opendata-accounts", "1.0.1", "personal-loans"},
		{"opendata-accounts", "latest", "personal-accounts"},
	} {
		_, err := v.Resolve(c.family, c.declared, c.product)
		require.True(t, errors.Is(err, ErrUnknownSpec), "%+v: %v", c, err)
		_, err = v.Validate(c.family, c.declared, c.product, map[string]any{})
		require.True(t, errors.Is(err, ErrUnknownSpec), "%+v: %v", c, err)
	}
}

func TestValidateExampleIsValid(t *testing.T) {
	v := newValidator(t)
	res, err := v.Validate("opendata-accounts", "1.0.1", "personal-accounts", opendataRecord(t))
	require.NoError(t, err)
	require.True(t, res.Valid(), "%v", res.Violations)
	require.Equal(t, "1.0.1", res.Version)
}

func TestValidateCollectsAllViolationsWithPointers(t *testing.T) {
	v := newValidator(t)
	rec := opendataRecord(t)
	fees := rec["fees"].(map[string]any)
	svc := fees["priorityServices"].([]any)[0].(map[string]any)
	svc["prices"].([]any)[1].(map[string]any)["value"] = "abc"
	svc["code"] = "NOT_A_CODE"
	delete(rec, "type")
	rec["transactionMethods"] = "MOVIMENTACAO_CARTAO" // must be an array
	svc["prices"] = svc["prices"].([]any)[:3]         // must have 4 items

	res, err := v.Validate("opendata-accounts", "1.0.1", "personal-accounts", rec)
	require.NoError(t, err)
	require.False(t, res.Valid())
	got := map[Violation]bool{}
	for _, x := range res.Violations {
		require.NotEmpty(t, x.Message)
		got[Violation{Field: x.Field, Rule: x.Rule}] = true
	}
	for _, want := range []Violation{
		{Field: "/fees/priorityServices/0/prices/1/value", Rule: "pattern"},
		{Field: "/fees/priorityServices/0/code", Rule: "enum"},
		{Field: "/type", Rule: "required"},
		{Field: "/transactionMethods", Rule: "type"},
		{Field: "/fees/priorityServices/0/prices", Rule: "minItems"},
	} {
		require.True(t, got[want], "missing %+v in %+v", want, res.Violations)
	}
}

func TestValidateAcceptsAnyMinorRevision(t *testing.T) {
	v := newValidator(t)
	// Declared 1.0.0, but the record follows 1.0.2: valid, reported against 1.0.2.
	rec := creditCardRecords(t)[0]
	res, err := v.Validate("products-services", "1.0.0", "business-credit-cards", rec)
	require.NoError(t, err)
	require.True(t, res.Valid(), "%v", res.Violations)
	require.Equal(t, "1.0.2", res.Version)

	// Broken against every revision: the closest revision's violations are reported.
	m := rec.(map[string]any)
	m["name"] = 42.0
	res, err = v.Validate("products-services", "1.0.0", "business-credit-cards", m)
	require.NoError(t, err)
	require.Equal(t, "1.0.2", res.Version)
	require.Equal(t, []Violation{{Field: "/name", Rule: "type", Message: res.Violations[0].Message}}, res.Violations)
}

func TestValidateConcurrent(t *testing.T) {
	v := newValidator(t)
	recs := creditCardRecords(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(recs))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range recs {
				if _, err := v.Validate("products-services", "1", "business-credit-cards", r); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func BenchmarkValidateRecord(b *testing.B) {
	v := newValidator(b)
	rec := opendataRecord(b)
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.Validate("opendata-accounts", "1.0.1", "personal-accounts", rec)
		if err != nil || !res.Valid() {
			b.Fatal(err, res.Violations)
		}
	}
}

func BenchmarkValidateRecordAnyRevision(b *testing.B) {
	v := newValidator(b)
	rec := creditCardRecords(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate("products-services", "1", "business-credit-cards", rec); err != nil {
			b.Fatal(err)
		}
	}
}

// The revision hint only changes which revision is tried first: validity
// and the violations of invalid records are what a fresh validator finds.
func TestRevisionHintDoesNotChangeResults(t *testing.T) {
	primed, fresh := newValidator(t), newValidator(t)
	recs := creditCardRecords(t)
	// Prime: a record that only 1.0.2 accepts, so 1.0.2 becomes the hint.
	res, err := primed.Validate("products-services", "1", "business-credit-cards", recs[0])
	require.NoError(t, err)
	require.Equal(t, "1.0.2", res.Version)

	broken := map[string]any{}
	for k, val := range recs[0].(map[string]any) {
		broken[k] = val
	}
	broken["name"] = 42.0
	inputs := append([]any{broken, map[string]any{}}, recs...)
	for i, rec := range inputs {
		a, err := primed.Validate("products-services", "1", "business-credit-cards", rec)
		require.NoError(t, err)
		b, err := fresh.Validate("products-services", "1", "business-credit-cards", rec)
		require.NoError(t, err)
		require.Equal(t, b.Valid(), a.Valid(), "record %d", i)
		if !b.Valid() {
			require.Equal(t, b, a, "record %d: same revision and violations reported", i)
		}
	}
}
