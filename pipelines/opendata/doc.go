// Package opendata owns the normalisation of collected open-data pages (topic
// ofp.opendata.raw) into the opendata_* datasets: Arrow record batches whose
// schemas are the binding column contract (see Schema), and their Parquet
// encoding (WriteParquet).
//
// Fees and rates are stored once per page content (opendata_fee_items,
// opendata_rate_items, keyed by content_key and item_index); each page row
// names its content, and the warehouse views opendata_fees and
// opendata_rates join them back into one row per fee or rate per page,
// with exactly the columns one row per collection had (see schema.go and
// memo.go). A page of an hourly collection that says what it said an hour
// before costs one page row.
//
// It never talks to Kafka, object storage or the warehouse (the pipelines
// runner does), never fails on bad content, and never drops anything
// silently: every Kafka record yields rows in opendata_pages or
// opendata_collections, and whatever cannot be used is quarantined (the
// warehouse view opendata_quarantine: kind page|record|fee|rate, a reason
// and the raw JSON, capped at 64 KiB; the full body stays in the lake at
// raw_object), stored with the page's content (opendata_quarantine_items)
// or, for a record that is no page, as a row of its own
// (opendata_quarantine_rows).
//
// # Shapes
//
// products-services v1: data.brand.name, data.brand.companies[]{name,
// cnpjNumber (1.0.0: cnpjNumbers), <productKey>[]} where productKey is the
// camel-case endpoint name (personal-accounts -> personalAccounts). When a
// company lists its products under another product's key (seen in published
// data) that array is used and a "product_key" finding is written.
// opendata-* 1.0.x: data[] items with participant{brand, name, cnpjNumber}.
//
// Fees come from fees.priorityServices[], fees.otherServices[],
// fees.services[] (fee_group says which) and serviceBundles[] (fee_group
// "serviceBundles": service_code = service_name = the bundle name, as bundles
// have no code; the band value is monthlyFee, or value when monthlyFee is
// absent). Rates come from interestRates[] (also the singular interestRate[]
// some v1 files use) and, for credit cards, interest.rates[] and
// interest.instalmentRates[] (both as rows of opendata_rates; the contract
// has no column telling them apart). The indexer is referentialRateIndexer
// (or the misspelt referentialRateOrIndexer seen in v1 data). A group (or
// the fees or interest object) that is the string "NA" is not applicable:
// no rows and no quarantine (products-services 1.0.2 requires an
// interestRate it never declares, and participants send "NA" there beside
// their interestRates); any other value that is not an array (object) is
// quarantined whole. products-services 1.0.0's rate layouts carry no
// indexer, the key rates are compared by, and are quarantined whole with a
// reason that names them, never dropped unseen: a loan's or financing's
// interestRate object ({applications: [{interval, rate}], minimumRate,
// maximumRate}) and a credit card's interest.feeRate, .instalmentRate and
// .interestRates[] (quartile prices per operation code).
//
// # Common columns
//
// institution_cnpj/name: the record's participant (opendata-*) or company
// (v1), else the directory's CNPJ and organisation name. brand: the data's
// own brand (participant.brand, data.brand.name) when present, else the
// directory's brand: the comparison groups by what the institution
// publishes. segment: "personal"/"business" from the product name prefix.
// product_type: `type` (accounts, loans, financings, invoice financings),
// identification.product.type (credit cards), "" for unarranged overdraft
// (the product has no type).
//
// # Interpretation (BRIEF §7)
//
// A fee or rate is used when it can be read unambiguously: a service code
// (bundle: name), exactly the four bands 1_FAIXA..4_FAIXA once each in any
// order (products-services 1.0.0's 1_QUARTIL_CLIENTES.. are read as the same
// bands), decimal values with at most 6 decimals that fit DECIMAL(18,6),
// one currency for all bands, a minimum and a maximum. Decimals are parsed
// by hand into units of 10^-6, never through float64. "NA" (the spec's "not
// applicable") in minimum/maximum, rate, minimumRate or maximumRate gives a
// null with flag "not_applicable"; anywhere else it is not a decimal.
//
// Flags on used rows (";"-joined, sorted): schema_violation (the record broke
// its spec, see internal/oas), rate_scale_N (a customers/indexer/interest
// rate was given with N != 6 decimals, e.g. rate_scale_4), customer_rates_sum_not_1
// (the four customers.rate differ from 1 by more than 0.002 = 0.0005 rounding
// per band x 4), non_brl_currency, name_code_mismatch (a priority service
// whose Resolution 3.919 name does not pair with its code), not_applicable.
//
// Anything else is quarantined with a reason such as "band 1_FAIXA
// duplicated", "missing band 3_FAIXA", `2_FAIXA value: value "abc" is not a
// decimal`, `... has more than 6 decimal places`, "unknown fee shape: ...".
// A page that is not 2xx, not JSON, truncated or not the expected shape gives
// one quarantine row of kind page plus its opendata_pages row with
// parse_error set; a Kafka value that is not an envelope gives one
// quarantine row of kind page.
//
// # Validation
//
// Every record is validated from its JSON text with internal/oas
// (Validator.ValidateJSON: a compiled check, kin-openapi for the records it
// cannot prove valid) against the page's declared
// family/version/product; each violation is one finding (a row of the
// warehouse view opendata_findings, stored as an opendata_finding_items
// row; record_index = ordinal of the record in the page). A family/version the
// validator does not know gives one "unknown_spec" finding per page and the
// rows are still extracted. Results are memoised by record content (bounded
// cache, keyed by a hash of the record's exact bytes), since daily
// collections republish identical products.
//
// # Speed
//
// Each Kafka value is read once by a small JSON reader (scan.go) into a flat
// tape of byte spans; the page body is unescaped once and every string is a
// substring of it. The fast path (fast.go) fills the same structs
// encoding/json would and runs the same interpretation, but only for
// "plain" JSON: a level (value, page, company, record, fee/rate element)
// with a duplicated, escaped or case-folded key, an unexpected value type,
// invalid UTF-8 or deep nesting is decoded by encoding/json instead (the
// reference path, also used for every reason text), before any row of that
// level is written. testdata/golden.json holds the reference output of a
// corpus of normal and broken inputs; a fuzz test compares both paths.
//
// Pages arrive in CloudEvents' binary mode (AddRecord): the body is the
// Kafka record's value, byte for byte, and its metadata a header, so a
// page is hashed where it lies; JSON envelopes of earlier versions are
// still read (Add), with one unescaping pass over the body.
//
// Participants republish the same pages collection after collection, so a
// page whose content (organisation, family, version, product, status,
// body: a 128-bit hash) is known to be stored is replayed from a Memo
// (memo.go) instead: its page row is written with the new page's context,
// and no items (fees, rates, findings, quarantined items). A content's items are
// written again until a batch holding them is loaded (FlushAck), so an
// abandoned batch never leaves a page without its items. One bounded Memo
// is shared by a pipeline's Transformers; the replayed rows equal the full
// path's (TestMemoReplayMatchesFullPath, FuzzTransformerMemo), and the
// views over pages and items equal the rows of the reference
// implementation (TestGolden).
package opendata
