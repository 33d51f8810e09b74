package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

const specDir = "../internal/oas/specs"

// startEco serves an ecosystem on a real loopback listener.
func startEco(t testing.TB, mutate func(*Config)) (*Ecosystem, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	cfg := DefaultConfig(base)
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := New(cfg)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(e.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return e, base
}

// regexCompiler lets kin-openapi validate the specs' lookahead pattern,
// which Go's RE2 does not support, through an equivalent expression.
func regexCompiler(expr string) (openapi3.RegexMatcher, error) {
	if expr == `^(?!\s)[\w\W\s]*[^\s]$` {
		expr = `^\S(?:[\s\S]*\S)?$`
	}
	return regexp.Compile(expr)
}

var (
	specCacheMu sync.Mutex
	specCache   = map[string]*openapi3.T{}
)

func loadSpec(t testing.TB, file string) *openapi3.T {
	t.Helper()
	specCacheMu.Lock()
	defer specCacheMu.Unlock()
	if d, ok := specCache[file]; ok {
		return d
	}
	b, err := os.ReadFile(filepath.Join(specDir, file))
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(b)
	require.NoError(t, err)
	specCache[file] = doc
	return doc
}

func responseSchemaOf(t testing.TB, file, path string) *openapi3.Schema {
	t.Helper()
	s, err := responseSchema(loadSpec(t, file), path)
	require.NoError(t, err)
	return s
}

func validateJSON(s *openapi3.Schema, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return conciseErr(s.VisitJSON(v, openapi3.SetSchemaRegexCompiler(regexCompiler), openapi3.MultiErrors()))
}

// conciseErr drops the offending value dump kin-openapi puts in messages.
func conciseErr(err error) error {
	if err == nil {
		return nil
	}
	var lines []string
	var visit func(error)
	visit = func(err error) {
		switch x := err.(type) {
		case openapi3.MultiError:
			for _, e := range x {
				visit(e)
			}
		case *openapi3.SchemaError:
			if x.Origin != nil {
				visit(x.Origin)
				return
			}
			lines = append(lines, "/"+strings.Join(x.JSONPointer(), "/")+": "+x.Reason)
		default:
			lines = append(lines, err.Error())
		}
	}
	visit(err)
	if len(lines) > 10 {
		lines = append(lines[:10], fmt.Sprintf("... and %d more", len(lines)-10))
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}

func specFileFor(family string) string {
	if family == FamilyProductsServices {
		return "products-services-1.0.2.yml"
	}
	return family + "-1.0.1.yml"
}

func get(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, url)
	return resp, b
}

func TestDirectoryValidatesAgainstSpec(t *testing.T) {
	e, base := startEco(t, nil)
	resp, body := get(t, base+"/participants")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, IsSimulated(resp.Header))

	schema := responseSchemaOf(t, "directory-participants-1.1.0.yaml", "/participants")
	var orgs []map[string]any
	require.NoError(t, json.Unmarshal(body, &orgs))
	require.Len(t, orgs, len(e.Organisations()))

	styles := map[Style]int{}
	statuses := map[string]int{}
	for _, raw := range orgs {
		id := raw["OrganisationId"].(string)
		org, ok := e.Organisation(id)
		require.True(t, ok)
		styles[org.Style]++
		statuses[raw["Status"].(string)]++
		// The 2021 style keeps the dump's integer ApiVersion, which the
		// 1.1.0 schema (string "x.y.z") rejects; that is the only deviation.
		hasInt := false
		for _, as := range raw["AuthorisationServers"].([]any) {
			for _, r := range as.(map[string]any)["ApiResources"].([]any) {
				res := r.(map[string]any)
				if n, isNum := res["ApiVersion"].(float64); isNum {
					hasInt = true
					res["ApiVersion"] = fmt.Sprintf("%d.0.0", int(n))
				}
				for _, ep := range res["ApiDiscoveryEndpoints"].([]any) {
					require.True(t, strings.HasPrefix(ep.(map[string]any)["ApiEndpoint"].(string), base+"/inst/"+id+"/"),
						"every listed URL points at the simulator")
				}
			}
		}
		if org.Style == StyleCurrent {
			require.False(t, hasInt, "current style uses string versions")
		}
		one, err := json.Marshal([]any{raw})
		require.NoError(t, err)
		require.NoError(t, validateJSON(schema, one), "organisation %s", id)
	}
	require.Positive(t, styles[Style2021])
	require.Positive(t, styles[StyleCurrent])
	require.Positive(t, statuses["Withdrawn"])
	require.Positive(t, statuses["Pending"])
	require.Greater(t, statuses["Active"], 40)
}

func TestDirectoryFamiliesPerStyle(t *testing.T) {
	e, base := startEco(t, nil)
	_, body := get(t, base+"/participants")
	var orgs []participant
	require.NoError(t, json.Unmarshal(body, &orgs))
	for _, p := range orgs {
		org, _ := e.Organisation(p.OrganisationID)
		for _, as := range p.AuthorisationServers {
			for _, r := range as.ApiResources {
				switch {
				case r.ApiFamilyType == FamilyProductsServices:
					require.Equal(t, Style2021, org.Style)
					require.Equal(t, "1", string(r.ApiVersion))
					require.Len(t, r.ApiDiscoveryEndpoints, 1)
					require.True(t, strings.HasSuffix(r.ApiDiscoveryEndpoints[0].ApiEndpoint, "/open-banking/products-services/v1"))
				case strings.HasPrefix(r.ApiFamilyType, "opendata-"):
					require.Equal(t, StyleCurrent, org.Style)
					require.Equal(t, `"1.0.1"`, string(r.ApiVersion))
					for _, ep := range r.ApiDiscoveryEndpoints {
						require.Contains(t, ep.ApiEndpoint, "/open-banking/"+r.ApiFamilyType+"/v1/")
					}
				}
			}
		}
		if org.Style == StyleCurrent {
			require.Regexp(t, `^\d{14}$`, p.RegistrationNumber)
		}
	}
}

func TestAtLeastTwelveCompleteOrganisations(t *testing.T) {
	e, _ := startEco(t, nil)
	complete := 0
	for _, o := range e.Organisations() {
		require.True(t, o.Simulated)
		require.Regexp(t, `^\d{14}$`, o.CNPJ)
		if o.Complete {
			complete++
			require.Equal(t, "Active", o.Status)
			for _, inst := range o.Institutions {
				require.Equal(t, Products, inst.Products)
			}
		}
	}
	require.GreaterOrEqual(t, complete, 12)
}

func TestNormaliseCNPJ(t *testing.T) {
	require.Equal(t, "00000000000191", NormaliseCNPJ("00000000"))       // Banco do Brasil
	require.Equal(t, "60746948000112", NormaliseCNPJ("60746948"))       // Bradesco
	require.Equal(t, "07853842000135", NormaliseCNPJ("07853842000135")) // kept
	require.Equal(t, "00360305000104", NormaliseCNPJ("00360305"))       // Caixa
	require.Len(t, NormaliseCNPJ("13.353.236/001-89"), 14)
}

// walk follows links.next from page 1 and returns every record served.
func walk(t *testing.T, inst Institution, base, product string, size int, validate bool) ([]json.RawMessage, int) {
	t.Helper()
	url := fmt.Sprintf("%s?page=1&page-size=%d", inst.EndpointURL(base, product), size)
	var all []json.RawMessage
	pages := 0
	schema := responseSchemaOf(t, specFileFor(inst.Family(product)), "/"+product)
	for url != "" {
		resp, body := get(t, url)
		require.Equal(t, http.StatusOK, resp.StatusCode, url)
		require.True(t, IsSimulated(resp.Header))
		if validate {
			require.NoError(t, validateJSON(schema, body), url)
		}
		pages++
		var page struct {
			Data  json.RawMessage   `json:"data"`
			Links map[string]string `json:"links"`
			Meta  struct{ TotalRecords, TotalPages int }
		}
		require.NoError(t, json.Unmarshal(body, &page))
		require.Equal(t, url, page.Links["self"])
		if inst.Family(product) == FamilyProductsServices {
			var d struct {
				Brand struct {
					Name      string
					Companies []json.RawMessage
				}
			}
			require.NoError(t, json.Unmarshal(page.Data, &d))
			require.True(t, strings.HasPrefix(inst.Brand, d.Brand.Name), d.Brand.Name)
			all = append(all, d.Brand.Companies...)
		} else {
			var d []json.RawMessage
			require.NoError(t, json.Unmarshal(page.Data, &d))
			all = append(all, d...)
		}
		if page.Links["next"] == "" {
			require.Equal(t, pages, page.Meta.TotalPages)
			require.Equal(t, len(all), page.Meta.TotalRecords)
		}
		url = page.Links["next"]
	}
	return all, pages
}

func TestInstitutionPagesValidateAndPaginationCoversEveryRecordOnce(t *testing.T) {
	e, base := startEco(t, nil)
	multiPage := 0
	seenStyle := map[Style]bool{}
	for _, org := range e.Organisations() {
		if !org.Complete {
			continue
		}
		inst := org.Institutions[0]
		seenStyle[org.Style] = true
		for _, product := range Products {
			recs, pages := walk(t, inst, base, product, 25, true)
			require.Len(t, recs, e.RecordCount(inst.AuthorisationServerID, product))
			if pages > 1 {
				multiPage++
			}
			// Every record exactly once: compare with a single big page.
			one, onePages := walk(t, inst, base, product, 1000, false)
			require.Equal(t, 1, onePages)
			require.Equal(t, recs, one)
		}
	}
	require.True(t, seenStyle[Style2021] && seenStyle[StyleCurrent])
	require.Positive(t, multiPage)
}

func TestParticipantAndLabel(t *testing.T) {
	e, base := startEco(t, nil)
	for _, org := range e.Organisations() {
		if !org.Complete || org.Style != StyleCurrent {
			continue
		}
		inst := org.Institutions[0]
		_, body := get(t, inst.EndpointURL(base, "personal-accounts"))
		var page struct {
			Data []struct {
				Participant struct{ Brand, Name, CnpjNumber, UrlComplementaryList string }
			}
		}
		require.NoError(t, json.Unmarshal(body, &page))
		p := page.Data[0].Participant
		require.Equal(t, inst.Brand, p.Brand)
		require.Equal(t, inst.Name, p.Name)
		require.Equal(t, org.CNPJ, p.CnpjNumber)
		require.Contains(t, p.UrlComplementaryList, "simulado")
		return
	}
	t.Fatal("no complete current-style organisation")
}

func TestUnservedEndpointsAnswer404(t *testing.T) {
	e, base := startEco(t, nil)
	checked := 0
	for _, org := range e.Organisations() {
		for _, inst := range org.Institutions {
			for _, product := range Products {
				if inst.Serves(product) {
					continue
				}
				resp, _ := get(t, inst.EndpointURL(base, product))
				require.Equal(t, http.StatusNotFound, resp.StatusCode)
				checked++
			}
		}
	}
	require.Positive(t, checked)
	resp, _ := get(t, base+"/inst/nope/nope/open-banking/opendata-loans/v1/personal-loans")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestDeterministicBytes(t *testing.T) {
	_, base1 := startEco(t, nil)
	e2, base2 := startEco(t, nil)
	_, d1 := get(t, base1+"/participants")
	_, d2 := get(t, base2+"/participants")
	require.Equal(t, string(d1), strings.ReplaceAll(string(d2), base2, base1))
	for _, org := range e2.Organisations() {
		if !org.Complete {
			continue
		}
		inst := org.Institutions[0]
		for _, product := range []string{"personal-accounts", "business-loans", "personal-credit-cards"} {
			_, b1 := get(t, inst.EndpointURL(base1, product)+"?page=1")
			_, b2 := get(t, inst.EndpointURL(base2, product)+"?page=1")
			require.Equal(t, string(b1), strings.ReplaceAll(string(b2), base2, base1))
		}
	}
	// A different seed changes the figures.
	_, base3 := startEco(t, func(c *Config) { c.Seed = 2; c.OrgStyles = nil })
	e1, _ := startEco(t, nil)
	var inst Institution
	for _, o := range e1.Organisations() {
		if o.Complete {
			inst = o.Institutions[0]
			break
		}
	}
	_, a := get(t, inst.EndpointURL(base1, "personal-accounts")+"?page=1")
	_, b := get(t, inst.EndpointURL(base3, "personal-accounts")+"?page=1")
	require.NotEqual(t, string(a), strings.ReplaceAll(string(b), base3, base1))
}

func TestPageParameters(t *testing.T) {
	e, base := startEco(t, nil)
	var inst Institution
	for _, o := range e.Organisations() {
		if o.Complete {
			inst = o.Institutions[0]
			break
		}
	}
	u := inst.EndpointURL(base, "personal-loans")
	resp, _ := get(t, u+"?page-size=1001")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	resp, _ = get(t, u+"?page=abc")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = get(t, u+"?page=999")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, body := get(t, u)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "page-size=25")
}

func TestFactsMatchServedPayloads(t *testing.T) {
	e, base := startEco(t, nil)
	fees := e.Fees()
	rates := e.Rates()
	require.NotEmpty(t, fees)
	require.NotEmpty(t, rates)
	// Every fact of one complete institution's personal-accounts appears in
	// the payload, and customer shares sum to exactly 1.
	var inst Institution
	for _, o := range e.Organisations() {
		if o.Complete && o.Style == StyleCurrent {
			inst = o.Institutions[0]
			break
		}
	}
	_, body := get(t, inst.EndpointURL(base, "personal-accounts")+"?page-size=1000")
	n := 0
	for _, f := range fees {
		if f.AuthorisationServerID != inst.AuthorisationServerID || f.Product != "personal-accounts" {
			continue
		}
		n++
		require.True(t, f.Valid)
		require.Equal(t, "BRL", f.Currency)
		require.Regexp(t, `^\d+\.\d{6}$`, f.BandCustomers[0])
		require.Equal(t, int64(1000000), sumScaled(t, f.BandCustomers[:]))
		if f.FeeGroup == "serviceBundles" { // a bundle has no code; its name identifies it and monthlyFee is its price
			require.True(t, strings.Contains(string(body), fmt.Sprintf(`"name":%q`, f.ServiceName)), "bundle %s served", f.ServiceName)
			require.True(t, strings.Contains(string(body), fmt.Sprintf(`"monthlyFee":%q`, f.BandMedians[2])), "bundle %s price served", f.ServiceName)
			continue
		}
		require.True(t, strings.Contains(string(body), fmt.Sprintf(`"code":%q`, f.ServiceCode)), "fee %s served", f.ServiceCode)
		require.True(t, strings.Contains(string(body), fmt.Sprintf(`"value":%q`, f.BandMedians[2])), "fee %s value served", f.ServiceCode)
	}
	require.Positive(t, n)
	for _, r := range rates {
		if r.Family == FamilyProductsServices {
			require.Equal(t, int64(10000), sumScaled(t, r.BandCustomers[:]))
		} else {
			require.Equal(t, int64(1000000), sumScaled(t, r.BandCustomers[:]))
		}
	}
}

func sumScaled(t *testing.T, xs []string) int64 {
	var s int64
	for _, x := range xs {
		var a, b int64
		_, err := fmt.Sscanf(strings.Replace(x, ".", " ", 1), "%d %d", &a, &b)
		require.NoError(t, err, x)
		require.Zero(t, a)
		s += b
	}
	return s
}

func TestFmtScaled(t *testing.T) {
	require.Equal(t, "0.150000", fmtScaled(150000, 6))
	require.Equal(t, "0.000001", fmtScaled(1, 6))
	require.Equal(t, "12.05", fmtScaled(1205, 2))
	require.Equal(t, "0.00", fmtScaled(0, 2))
	require.Equal(t, "1.0000", fmtScaled(10000, 4))
	require.Equal(t, "0.15", fromBP(1500, 2))
	require.Equal(t, "0.150000", fromBP(1500, 6))
}
