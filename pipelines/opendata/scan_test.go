package opendata

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/events"
)

func TestParseAcceptsOnlyValidJSON(t *testing.T) {
	for _, s := range []string{`{}`, `[]`, ` {"a" : [1, -0.5e+3, true, false, null, "x\"\\\/\b\f\n\r\t\u00e7"]} `, `"s"`, `0`, `-1E9`} {
		nodes, ok := parse(s, nil)
		require.True(t, ok, s)
		require.Equal(t, int32(len(nodes)), nodes[0].next, s)
	}
	for _, s := range []string{``, ` `, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `"a`,
		"\"a\x01\"", `"\x"`, `"\u12G4"`, `{} {}`, `[1 2]`, "\"\xff\"", `{1:2}`, strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)} {
		_, ok := parse(s, nil)
		require.False(t, ok, s)
	}
}

func TestTapeLayout(t *testing.T) {
	d := doc[string]{s: `{"a":[1,{"b":"c"}],"d":"e\u0066"}`}
	var ok bool
	d.nodes, ok = parse(d.s, nil)
	require.True(t, ok)
	var m [3]int32
	require.True(t, d.members(0, []string{"a", "d", "z"}, m[:]))
	require.Equal(t, `[1,{"b":"c"}]`, d.raw(m[0]))
	var elems []string
	d.elems(m[0], func(i int32) { elems = append(elems, d.raw(i)) })
	require.Equal(t, []string{"1", `{"b":"c"}`}, elems)
	require.Equal(t, text{v: "ef", present: true, isStr: true}, textOf(&d, m[1]))
	require.Equal(t, int32(-1), m[2])
	// Duplicated, case-folded, escaped or non-ASCII keys are not plain.
	for _, s := range []string{`{"a":1,"a":2}`, `{"A":1}`, `{"\u0061":1}`, `{"é":1}`} {
		d := doc[string]{s: s}
		d.nodes, ok = parse(s, nil)
		require.True(t, ok)
		require.False(t, d.members(0, []string{"a"}, m[:1]), s)
	}
}

// FuzzScan checks the fast reader against encoding/json: whatever it accepts
// encoding/json accepts, and strings decode to the same value.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{"a":"b\u00e7\ud83d\ude00\ud800x"}`, `[1,2.5e3,"\\\"",null]`, `"\udc00\u0041"`, "\"é\\n\"", `{"a":{"b":[]}}`, `{"a":1,"a":[{}],"b":1e400}`, `{"a":1,"a":[{}],"b":-0.0}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nodes, ok := parse(s, nil)
		unodes, unq, spans, uok := parseUnquoting([]byte(s), nil, nil, nil)
		require.Equal(t, ok, uok, s)
		if !ok {
			return
		}
		require.Equal(t, nodes, unodes)
		for _, sp := range spans {
			var want string
			n := nodes[sp.n]
			require.NoError(t, json.Unmarshal([]byte(s[n.start:n.end]), &want))
			require.Equal(t, want, string(unq[sp.start:sp.end]))
		}
		require.True(t, json.Valid([]byte(s)), s)
		for _, n := range nodes {
			if n.kind != kStr {
				continue
			}
			var want string
			require.NoError(t, json.Unmarshal([]byte(s[n.start:n.end]), &want))
			require.Equal(t, want, string(appendUnquoted(nil, s[n.start:n.end])))
			require.Equal(t, want, string(appendUnquoted(nil, []byte(s[n.start:n.end]))))
		}
	})
}

// transformBoth runs value through the fast Transformer and the reference
// (encoding/json only) Transformer and requires identical rows.
func transformBoth(t *testing.T, fast, ref *Transformer, value []byte) {
	fast.Add("fuzz", 0, 1, value)
	ref.Add("fuzz", 0, 1, value)
	require.Equal(t, flush(t, ref), flush(t, fast))
}

func newReference(t *testing.T) *Transformer {
	ref, _ := newTestTransformer(t)
	ref.fast = false
	return ref
}

func TestFastPathIsTakenAndEqualsReference(t *testing.T) {
	fast, _ := newTestTransformer(t)
	ref := newReference(t)
	for _, c := range goldenCases(t) {
		transformBoth(t, fast, ref, c.value)
	}
	// The plain pages really go through the fast path.
	for _, c := range []struct{ file, family, product string }{
		{"opendata-personal-accounts.json", "opendata-accounts", "personal-accounts"},
		{"ps-business-credit-cards.json", "products-services", "business-credit-cards"},
	} {
		require.True(t, fast.addFast(pageValue(t, page(c.family, "1", c.product, readTestdata(t, c.file)))), c.file)
		for _, rec := range fast.Flush() {
			rec.Release()
		}
	}
}

// FuzzFastEqualsReference mutates page bodies and requires the fast path
// to write exactly the rows the encoding/json path writes.
func FuzzFastEqualsReference(f *testing.F) {
	for _, name := range []string{"opendata-personal-accounts.json", "ps-personal-loans.json", "opendata-business-credit-cards.json"} {
		b := readTestdata(f, name)
		f.Add(b, "products-services", "personal-loans")
		f.Add(b, "opendata-accounts", "personal-accounts")
	}
	f.Add(`{"data":[{"fees":{"services":[{"code":"A","prices":[{"interval":"1_FAIXA","value":"1","customers":{"rate":"1"}}],"minimum":{"value":"NA"}}]}}]}`, "opendata-loans", "personal-loans")
	f.Add(`{"data":{"brand":{"name":"B","companies":[{"name":"C","personalLoans":[{"interestRates":[{"rate":"0.1","applications":[{"interval":"1_FAIXA"}]}]}]}]}}}`, "products-services", "personal-loans")
	f.Fuzz(func(t *testing.T, body, family, product string) {
		fast, _ := newTestTransformer(t)
		ref := newReference(t)
		p := page(family, "1.0.1", product, body)
		transformBoth(t, fast, ref, envelope(t, events.TypeOpenDataPage, p))
		b, err := json.Marshal(p)
		require.NoError(t, err)
		// The same page with a hand-made envelope whose body escapes differ.
		transformBoth(t, fast, ref, []byte(`{"type":"ofp.opendata.page.v1","payload":`+string(b)+`}`))
	})
}
