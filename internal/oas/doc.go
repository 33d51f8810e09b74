// Package oas owns the official Open Finance Brasil OpenAPI files that ofp
// validates collected data against (embedded from specs/) and the
// record-level validation built on them with kin-openapi.
//
// A "record" is one product item of an open-data response:
//   - opendata-* families (1.0.x): one element of the 200 response's `data` array
//     (found by walking the response schema of GET /<product>);
//   - products-services v1: one element of the product array inside
//     `data.brand.companies[]` (e.g. `personalAccounts`), found as the company
//     schema's only array property whose items are objects;
//   - directory-participants: one organisation of GET /participants.
//
// Version resolution (Resolve): specs are grouped by family and major version.
// A declared version ("1", "1.0", "1.0.3", "v1") selects its major; the
// preferred spec is the exact version when embedded, else the highest embedded
// version not above the declared one, else the latest of that major. A record
// is valid when it validates against ANY embedded minor revision of that
// major (participants publish against different ones); when none accepts it,
// the violations of the revision with the fewest violations are reported
// (ties go to the preferred spec, then to the newer one).
//
// Rules are the JSON-schema keyword that failed (kin-openapi SchemaField);
// allOf failures are flattened into their parts. The one pattern the official
// files write with a lookahead Go's regexp lacks, `^(?!\s)...`, is checked by
// hand (first rune not white space) plus the rest of the pattern; the
// patterns that match everything or "no blank at either end" are answered
// without regexp, and anchored sequences of bounded character repeats (the
// decimals, rates, codes and dates) by seqMatcher (patterns.go,
// seqmatch.go), with regexp's answers.
//
// ValidateJSON (what the pipelines call) validates a record given as JSON
// text and returns exactly what Validate returns for the decoded record.
// Each record schema is compiled once (fast.go) into a check that runs over
// the text without decoding or allocating and can only PROVE kin-openapi's
// answer (valid, or invalid because a check kin-openapi also runs fails);
// whenever it cannot, or the record is invalid against every revision, the
// record is decoded and kin-openapi decides, so violations and messages are
// kin-openapi's. Tests compare both on the simulator's records, random
// mutations of them and broken texts (fast_test.go).
//
// The compiled check remembers what it found in the objects of a record's
// arrays (a fee, a rate, a tariff band) by their text and schema node
// (elemmemo.go, bounded): a record the pipeline has not seen as a whole,
// because a participant changed one tariff, is then mostly lookups. Seen
// for the first time, a record costs about 30 % more; seen again with
// one value changed, about 40 % less (BenchmarkCompiledCheckCorpus); over
// the benchmark's collections the validation's CPU time fell from 0.70 s
// to 0.30 s.
//
// The package never fetches specs over the network, never mutates records and
// never decides what a violation means for the data (pipelines do).
package oas
