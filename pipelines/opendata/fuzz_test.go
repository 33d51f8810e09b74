package opendata

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/ofp-dev/ofp/internal/events"
)

// FuzzAdd feeds arbitrary Kafka values and arbitrary page bodies inside a
// valid envelope; Add must never panic and every Flush must build records.
func FuzzAdd(f *testing.F) {
	accounts := readTestdata(f, "opendata-personal-accounts.json")
	loans := readTestdata(f, "ps-personal-loans.json")
	f.Add([]byte("garbage"), accounts, "opendata-accounts", "personal-accounts")
	f.Add(pageValue(f, page("opendata-loans", "1.0.1", "personal-loans", loans)), loans, "products-services", "personal-loans")
	f.Add([]byte(`{"type":"ofp.opendata.collection.v1","payload":{}}`), `{"data":[{"fees":{"services":[{"prices":[{}]}]}}]}`, "opendata-loans", "business-loans")
	f.Add([]byte(`{"type":"ofp.opendata.page.v1","payload":{"body":"{"}}`), `{"data":{"brand":{"companies":[{"personalLoans":[{"interestRates":[{"applications":[1]}]}]}]}}}`, "products-services", "personal-loans")
	f.Add([]byte{}, `{"data":[{"fees":[],"interest":{"rates":{}},"serviceBundles":"x","identification":1}]}`, "opendata-creditcards", "personal-credit-cards")
	f.Add([]byte("null"), `{"data":[null,1,"x",{"fees":{"priorityServices":[{"code":"A","prices":[{"interval":"1_FAIXA","value":"99999999999999999999"}]}]}}]}`, "opendata-accounts", "business-accounts")

	tr := NewTransformer(testValidator, memory.NewGoAllocator(), nil)
	f.Fuzz(func(t *testing.T, value []byte, body, family, product string) {
		tr.Add("fuzz", 0, 1, value)
		p := page(family, "1", product, body)
		b := pageValue(t, p)
		tr.Add("fuzz", 0, 2, b)
		p.Family = "products-services"
		tr.Add("fuzz", 0, 3, envelope(t, events.TypeOpenDataPage, p))
		for _, rec := range tr.Flush() {
			rec.Release()
		}
	})
}

// FuzzPageMeta: whenever the fast reader accepts a binary record's
// ce_ofpmeta header, encoding/json (the reference) accepts it too and
// decodes the same page.
func FuzzPageMeta(f *testing.F) {
	p := page("products-services", "1", "personal-loans", "")
	meta, err := json.Marshal(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(meta)
	f.Add([]byte(`{"collection_id":"c\u00e91","institution":{"organisation_id":"o","cnpj":"1","simulated":true},"page":2,"status_code":200,"fetched_at":"2026-11-25T12:00:00Z"}`))
	f.Add([]byte(`{"collection_id":"a","collection_id":"b"}`))                      // duplicated: encoding/json keeps the last
	f.Add([]byte(`{"Collection_ID":"a","FAMILY":"x"}`))                             // case-folded keys
	f.Add([]byte(`{"page":1.0,"status_code":"200"}`))                               // wrong types
	f.Add([]byte(`{"institution":null,"fetched_at":null,"body":null,"extra":[1]}`)) // nulls, an unknown member
	f.Add([]byte(`{"body":1}`))
	f.Add([]byte(`{"institution":{"simulated":"yes"}}`))
	f.Add([]byte(`{"page":99999999999999999999}`))
	tr := NewTransformer(nil, memory.NewGoAllocator(), nil)
	f.Fuzz(func(t *testing.T, meta []byte) {
		var got events.OpenDataPage
		if !tr.metaFast(meta, &got) {
			return
		}
		var want events.OpenDataPage
		if err := json.Unmarshal(meta, &want); err != nil {
			t.Fatalf("the fast reader accepted %q, encoding/json refuses it: %v", meta, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\nencoding/json %+v\nfast reader   %+v", meta, want, got)
		}
	})
}
