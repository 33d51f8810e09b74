package opendata

import (
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
