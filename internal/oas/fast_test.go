package oas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/sim"
)

// corpusRecord is one product record as JSON text with where it comes from.
type corpusRecord struct {
	family, product, raw string
}

// simCorpus collects the records the simulator serves (first page of every
// product of the first n organisations, both directory styles, with the
// simulator's schema-invalid records switched on for some) plus the
// records of testdata/.
func simCorpus(t testing.TB, n int) []corpusRecord {
	t.Helper()
	cfg := sim.DefaultConfig("http://sim.test")
	eco, err := sim.New(cfg)
	require.NoError(t, err)
	orgs := eco.Organisations()
	faults := map[string]sim.Faults{}
	for i, o := range orgs {
		if i%4 == 0 {
			faults[o.ID] = sim.Faults{PInvalid: 0.3}
		}
	}
	cfg.Faults = faults
	eco, err = sim.New(cfg)
	require.NoError(t, err)
	h := eco.Handler()
	var out []corpusRecord
	for _, o := range eco.Organisations() {
		if n == 0 {
			break
		}
		if len(o.Institutions) == 0 || o.Status != "Active" {
			continue
		}
		n--
		for _, in := range o.Institutions {
			for _, product := range in.Products {
				url := in.EndpointURL("http://sim.test", product) + "?page=1&page-size=25"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
				if rec.Code != 200 {
					continue
				}
				for _, raw := range pageRecords(t, in.Family(product), rec.Body.Bytes()) {
					out = append(out, corpusRecord{family: in.Family(product), product: product, raw: raw})
				}
			}
		}
	}
	for _, f := range []struct{ file, family, product string }{
		{"testdata/opendata-personal-accounts.json", "opendata-accounts", "personal-accounts"},
		{"testdata/ps-business-credit-cards.json", "products-services", "business-credit-cards"},
	} {
		b, err := os.ReadFile(f.file)
		require.NoError(t, err)
		for _, raw := range pageRecords(t, f.family, b) {
			out = append(out, corpusRecord{family: f.family, product: f.product, raw: raw})
		}
	}
	require.NotEmpty(t, out)
	return out
}

// pageRecords splits a page into its records' JSON texts, as published.
func pageRecords(t testing.TB, family string, body []byte) []string {
	t.Helper()
	var out []string
	if family != "products-services" {
		var pg struct{ Data []json.RawMessage }
		require.NoError(t, json.Unmarshal(body, &pg))
		for _, r := range pg.Data {
			out = append(out, string(r))
		}
		return out
	}
	var pg struct {
		Data struct {
			Brand struct {
				Companies []map[string]json.RawMessage
			}
		}
	}
	require.NoError(t, json.Unmarshal(body, &pg))
	for _, c := range pg.Data.Brand.Companies {
		for _, v := range c {
			var items []json.RawMessage
			if json.Unmarshal(v, &items) != nil {
				continue
			}
			for _, it := range items {
				if len(it) > 0 && it[0] == '{' {
					out = append(out, string(it))
				}
			}
		}
	}
	return out
}

// specsOf returns every embedded revision of family's major 1 defining product.
func specsOf(t testing.TB, v *Validator, family, product string) []*spec {
	t.Helper()
	var out []*spec
	for _, s := range v.families[family][1] {
		if s.records[product] != nil {
			out = append(out, s)
		}
	}
	require.NotEmpty(t, out, "%s %s", family, product)
	return out
}

// mutate changes one random place of a decoded record.
func mutate(r *rand.Rand, x any) any {
	switch v := x.(type) {
	case map[string]any:
		if len(v) > 0 && r.IntN(4) != 0 {
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			k := keys[r.IntN(len(keys))]
			switch r.IntN(6) {
			case 0:
				delete(v, k)
			case 1:
				v["unexpectedKey"] = "x"
			default:
				v[k] = mutate(r, v[k])
			}
			return v
		}
	case []any:
		if len(v) > 0 && r.IntN(4) != 0 {
			switch r.IntN(5) {
			case 0:
				return v[:r.IntN(len(v))]
			case 1:
				return append(v, v[0])
			default:
				i := r.IntN(len(v))
				v[i] = mutate(r, v[i])
				return v
			}
		}
	case string:
		switch r.IntN(9) {
		case 0:
			return " " + v
		case 1:
			return v + " "
		case 2:
			return v + "ção€𝄞"
		case 3:
			return strings.Repeat(v+"x", 40)
		case 4:
			return ""
		case 5:
			return "NA"
		case 6:
			return "12.34"
		case 7:
			return "<&>\"\\\n"
		}
	}
	switch r.IntN(8) {
	case 0:
		return nil
	case 1:
		return 42.0
	case 2:
		return 1.5
	case 3:
		return true
	case 4:
		return map[string]any{}
	case 5:
		return []any{}
	case 6:
		return "abc"
	}
	return -7.0
}

// textVariants renders a decoded record as JSON texts that decode to it (or,
// for the broken ones, that encoding/json refuses or decodes differently).
func textVariants(r *rand.Rand, x any, orig string) []string {
	b, _ := json.Marshal(x)
	var ind bytes.Buffer
	_ = json.Indent(&ind, b, "", "\t ")
	out := []string{string(b), ind.String(), orig}
	s := string(b)
	if i := strings.IndexByte(s, ':'); i > 0 && s[0] == '{' {
		// a duplicated first key, the first or the last copy broken
		key := s[1:i]
		out = append(out, "{"+key+":null,"+s[1:], s[:len(s)-1]+","+key+":{}}")
	}
	if i := strings.Index(s, `":"`); i > 0 {
		j := i + 3
		out = append(out,
			s[:j]+`\u00e7\ud834\udd1e\/`+s[j:], // escapes
			s[:j]+`\ud800`+s[j:],               // lone surrogate: U+FFFD
			s[:j]+"\xff"+s[j:],                 // invalid UTF-8
			s[:j]+"\t"+s[j:],                   // control character
		)
	}
	if len(s) > 2 {
		out = append(out, s[:r.IntN(len(s)-1)+1], s+"x", s+" \n", `{"a":1e999,`+s[1:], "[]", "null", "")
	}
	return out
}

// TestCompiledCheckIsSound checks the compiled check against kin-openapi on
// the simulator's records, random mutations of them and broken JSON texts:
// a record it proves valid is valid for kin-openapi, one it refutes is
// invalid (or not JSON). It also makes sure it does prove and refute often,
// so that the fast path is not silently always unsure.
func TestCompiledCheckIsSound(t *testing.T) {
	v := newValidator(t)
	corpus := simCorpus(t, 8)
	r := rand.New(rand.NewPCG(1, 2))
	counts, originals := map[verdict]int{}, map[verdict]int{}
	var memo elemMemo // shared by the whole corpus and its mutations, as in a Validator
	checkOne := func(c corpusRecord, raw string, counts map[verdict]int) {
		var doc any
		decErr := json.Unmarshal([]byte(raw), &doc)
		for _, s := range specsOf(t, v, c.family, c.product) {
			got := check(s.fast[c.product], raw)
			require.Equal(t, got, checkMemo(s.fast[c.product], raw, &memo), "%s %s %s: the element memo changed the verdict\n%s", c.family, s.ver, c.product, raw)
			counts[got]++
			if got == unsure {
				continue
			}
			require.NoError(t, decErr, "%s %s %s: verdict %d on text encoding/json refuses: %q", c.family, s.ver, c.product, got, raw)
			viol := validate(s.records[c.product], doc)
			if got == proved {
				require.Empty(t, viol, "%s %s %s: proved valid, kin-openapi says %+v\n%s", c.family, s.ver, c.product, viol, raw)
			} else {
				require.NotEmpty(t, viol, "%s %s %s: refuted, kin-openapi accepts\n%s", c.family, s.ver, c.product, raw)
			}
		}
	}
	for _, c := range corpus {
		checkOne(c, c.raw, originals)
		for range 2 {
			var doc any
			require.NoError(t, json.Unmarshal([]byte(c.raw), &doc))
			for range r.IntN(3) + 1 {
				doc = mutate(r, doc)
			}
			for _, raw := range textVariants(r, doc, c.raw) {
				checkOne(c, raw, counts)
			}
		}
	}
	t.Logf("%d records; verdicts on them: proved %d, refuted %d, unsure %d; on mutations: proved %d, refuted %d, unsure %d",
		len(corpus), originals[proved], originals[refuted], originals[unsure], counts[proved], counts[refuted], counts[unsure])
	// The fast path must settle the published records (valid, or invalid
	// against a revision) by itself, and see through most mutations.
	require.Greater(t, originals[proved], len(corpus)/2)
	require.Positive(t, originals[refuted])
	require.Zero(t, originals[unsure])
	require.Positive(t, counts[proved])
	require.Greater(t, counts[refuted], len(corpus))
}

// TestValidateJSONMatchesValidate runs two validators side by side over the
// corpus and its mutations: ValidateJSON on the text gives exactly what
// Validate gives on the decoded value (version, violations, messages).
func TestValidateJSONMatchesValidate(t *testing.T) {
	a, b := newValidator(t), newValidator(t)
	corpus := simCorpus(t, 6)
	r := rand.New(rand.NewPCG(3, 4))
	for i, c := range corpus {
		raws := []string{c.raw}
		if i%4 == 0 {
			var doc any
			require.NoError(t, json.Unmarshal([]byte(c.raw), &doc))
			doc = mutate(r, doc)
			raws = append(raws, textVariants(r, doc, c.raw)...)
		}
		for _, raw := range raws {
			for _, declared := range []string{"1", "1.0.0", "1.0.1", "1.0.2"} {
				got, gerr := a.ValidateJSON(c.family, declared, c.product, raw)
				var doc any
				if derr := json.Unmarshal([]byte(raw), &doc); derr != nil {
					require.Error(t, gerr)
					require.Equal(t, derr.Error(), gerr.Error())
					continue
				}
				want, werr := b.Validate(c.family, declared, c.product, doc)
				require.Equal(t, werr, gerr)
				require.Equal(t, want, got, "%s %s %s\n%s", c.family, declared, c.product, raw)
			}
		}
	}
	_, err := a.ValidateJSON("opendata-accounts", "2.0.0", "personal-accounts", "{}")
	require.ErrorIs(t, err, ErrUnknownSpec)
}

// FuzzCompiledCheck: whatever the text, a proof or refutation agrees with
// kin-openapi.
func FuzzCompiledCheck(f *testing.F) {
	v := newValidator(f)
	for _, file := range []string{"testdata/opendata-personal-accounts.json", "testdata/ps-business-credit-cards.json"} {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		family := "opendata-accounts"
		if strings.Contains(file, "ps-") {
			family = "products-services"
		}
		for _, raw := range pageRecords(f, family, b) {
			f.Add(raw)
		}
	}
	f.Add(`{"name":"x","type":"CONTA_DEPOSITO_A_VISTA"}`)
	var memo elemMemo // kept across inputs: the fuzzer's mutations share elements
	f.Fuzz(func(t *testing.T, raw string) {
		var doc any
		decErr := json.Unmarshal([]byte(raw), &doc)
		for _, fam := range []struct{ family, product string }{
			{"opendata-accounts", "personal-accounts"}, {"products-services", "business-credit-cards"},
		} {
			for _, s := range specsOf(t, v, fam.family, fam.product) {
				got := check(s.fast[fam.product], raw)
				if m := checkMemo(s.fast[fam.product], raw, &memo); m != got {
					t.Fatalf("%s %s: verdict %d, with the element memo %d", fam.family, s.ver, got, m)
				}
				if got == unsure {
					continue
				}
				if decErr != nil {
					t.Fatalf("verdict %d on text encoding/json refuses: %v", got, decErr)
				}
				viol := validate(s.records[fam.product], doc)
				if (got == proved) != (len(viol) == 0) {
					t.Fatalf("%s %s: verdict %d, kin-openapi %s", fam.family, s.ver, got, fmt.Sprint(viol))
				}
			}
		}
	})
}

func BenchmarkValidateJSON(b *testing.B) {
	v := newValidator(b)
	raw, err := json.Marshal(opendataRecord(b))
	require.NoError(b, err)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.ValidateJSON("opendata-accounts", "1.0.1", "personal-accounts", string(raw))
		if err != nil || !res.Valid() {
			b.Fatal(err, res.Violations)
		}
	}
}

// TestElementMemo: an element's findings are looked up, not recomputed,
// wherever the same text meets the same schema node again, and a refuted
// element refutes every record it appears in.
func TestElementMemo(t *testing.T) {
	v := newValidator(t)
	var rec map[string]any
	b, err := os.ReadFile("testdata/ps-business-credit-cards.json")
	require.NoError(t, err)
	raws := pageRecords(t, "products-services", b)
	require.NotEmpty(t, raws)
	require.NoError(t, json.Unmarshal([]byte(raws[0]), &rec))
	raw := func(r map[string]any) string {
		out, err := json.Marshal(r)
		require.NoError(t, err)
		return string(out)
	}
	valid := raw(rec)
	var root *cschema // the revision the record is valid against
	for _, s := range specsOf(t, v, "products-services", "business-credit-cards") {
		if check(s.fast["business-credit-cards"], valid) == proved {
			root = s.fast["business-credit-cards"]
		}
	}
	require.NotNil(t, root, "the testdata record is valid against no revision")

	var memo elemMemo
	require.Equal(t, proved, checkMemo(root, valid, &memo))
	remembered := len(memo.m)
	require.Positive(t, remembered, "no element of the record was remembered")
	require.Equal(t, proved, checkMemo(root, valid, &memo))
	require.Len(t, memo.m, remembered, "the same record again added entries: its elements were not found")

	// Lookups are what decide: an entry that says "refuted" refutes the
	// record without the element being checked again.
	for k := range memo.m {
		memo.m[k] = elemRefuted
	}
	require.Equal(t, refuted, checkMemo(root, valid, &memo))

	// A refuted element, remembered, refutes another record holding it.
	bad := findElementArray(t, rec)
	require.NotNil(t, bad, "the record has no array of objects to spoil")
	elem := bad.arr[0].(map[string]any)
	var name string
	for k, val := range elem {
		if _, ok := val.(string); ok {
			name = k
			break
		}
	}
	require.NotEmpty(t, name)
	elem[name] = strings.Repeat("x", 5000) + "\u0000" // over any maxLength, or unknown to an enum
	spoiled := raw(rec)
	want := check(root, spoiled)
	require.Equal(t, refuted, want, "the spoiled element should break a maxLength or enum rule:\n%s", spoiled)
	var fresh elemMemo
	require.Equal(t, want, checkMemo(root, spoiled, &fresh))
	bad.arr = append(bad.arr, elem) // the spoiled element twice: the second is a lookup
	bad.set(bad.arr)
	require.Equal(t, refuted, checkMemo(root, raw(rec), &fresh))
}

// elementArray is an array of objects somewhere in a decoded record.
type elementArray struct {
	arr []any
	set func([]any)
}

// findElementArray returns the first array of objects in doc (depth first).
func findElementArray(t *testing.T, doc map[string]any) *elementArray {
	t.Helper()
	for k, v := range doc {
		switch x := v.(type) {
		case []any:
			if len(x) > 0 {
				if _, ok := x[0].(map[string]any); ok {
					return &elementArray{arr: x, set: func(a []any) { doc[k] = a }}
				}
			}
		case map[string]any:
			if e := findElementArray(t, x); e != nil {
				return e
			}
		}
	}
	return nil
}

// BenchmarkCompiledCheckCorpus checks the simulator's records with the
// compiled check alone (the baseline) and through the element memo, in two
// situations: every record seen for the first time (a first collection:
// the memo only costs), and every record seen before with one string value
// changed (a later collection after a participant changed one tariff: the
// per-record cache of the pipeline misses, the unchanged elements are
// lookups).
func BenchmarkCompiledCheckCorpus(b *testing.B) {
	v := newValidator(b)
	corpus := simCorpus(b, 8)
	type job struct {
		root         *cschema
		raw, changed string
	}
	var jobs []job
	var size int64
	for _, c := range corpus {
		s := specsOf(b, v, c.family, c.product)[0]
		jobs = append(jobs, job{s.fast[c.product], c.raw, changeOneValue(c.raw)})
		size += int64(len(c.raw))
	}
	for _, sit := range []struct {
		name string
		text func(job) string
	}{{"first-sight", func(j job) string { return j.raw }}, {"one-value-changed", func(j job) string { return j.changed }}} {
		b.Run(sit.name+"/baseline=check", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				for _, j := range jobs {
					check(j.root, sit.text(j))
				}
			}
		})
	}
	b.Run("first-sight/ours=check+memo", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			var memo elemMemo // a fresh memo per pass: every element is a miss
			for _, j := range jobs {
				checkMemo(j.root, j.raw, &memo)
			}
		}
	})
	b.Run("one-value-changed/ours=check+memo", func(b *testing.B) {
		var seen elemMemo
		for _, j := range jobs {
			checkMemo(j.root, j.raw, &seen)
		}
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			memo := elemMemo{m: maps.Clone(seen.m)} // the earlier collection's elements, not this pass's
			b.StartTimer()
			for _, j := range jobs {
				checkMemo(j.root, j.changed, &memo)
			}
		}
	})
}

// changeOneValue inserts a letter into the string value nearest the middle
// of a record's text.
func changeOneValue(raw string) string {
	i := strings.Index(raw[len(raw)/2:], `":"`)
	if i < 0 {
		return raw + " "
	}
	i += len(raw)/2 + 3
	return raw[:i] + "Z" + raw[i:]
}
