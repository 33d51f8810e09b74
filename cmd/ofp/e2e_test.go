package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/config"
	"github.com/ofp-dev/ofp/sim"
	"github.com/ofp-dev/ofp/warehouse"
)

// feeKey identifies one institution's figure in one comparison group.
type feeKey struct {
	org, cnpj, brand, product, segment, productType, code, currency string
}

// expectedFees computes, from the simulator's source data alone, what the
// fee comparison must show: per institution and group the first published
// figure (the platform keeps the first occurrence of a key in a
// collection), its customer-weighted estimate, and the rank within its
// group.
func expectedFees(t *testing.T, eco *sim.Ecosystem) map[feeKey]expectedFee {
	t.Helper()
	active := map[string]bool{}
	for _, o := range eco.Organisations() {
		active[o.ID] = o.Status == "Active"
	}
	out := map[feeKey]expectedFee{}
	for _, f := range eco.Fees() {
		require.True(t, f.Valid, "a clean simulator serves only valid fees")
		if !active[f.OrganisationID] {
			continue
		}
		k := feeKey{f.OrganisationID, f.CNPJ, f.Brand, f.Product, f.Segment, f.ProductType, f.ServiceCode, f.Currency}
		if _, seen := out[k]; seen {
			continue
		}
		e := expectedFee{fact: f}
		sum := decimal.Zero
		for i := 0; i < 4; i++ {
			sum = sum.Add(decimal.RequireFromString(f.BandMedians[i]).Mul(decimal.RequireFromString(f.BandCustomers[i])))
		}
		e.weighted = sum.Round(6)
		out[k] = e
	}
	// Rank inside each group: by weighted estimate, then band-1 median, then name.
	groups := map[[5]string][]feeKey{}
	for k := range out {
		g := [5]string{k.product, k.segment, k.productType, k.code, k.currency}
		groups[g] = append(groups[g], k)
	}
	for _, ks := range groups {
		sort.Slice(ks, func(i, j int) bool {
			a, b := out[ks[i]], out[ks[j]]
			if c := a.weighted.Cmp(b.weighted); c != 0 {
				return c < 0
			}
			if c := decimal.RequireFromString(a.fact.BandMedians[0]).Cmp(decimal.RequireFromString(b.fact.BandMedians[0])); c != 0 {
				return c < 0
			}
			return a.fact.InstitutionName < b.fact.InstitutionName
		})
		rank := 0
		for i, k := range ks {
			e := out[k]
			if i == 0 || !e.weighted.Equal(out[ks[i-1]].weighted) || !decimal.RequireFromString(e.fact.BandMedians[0]).Equal(decimal.RequireFromString(out[ks[i-1]].fact.BandMedians[0])) {
				rank = i + 1
			}
			e.rank, e.groupSize = rank, len(ks)
			out[k] = e
		}
	}
	return out
}

type expectedFee struct {
	fact      sim.FeeFact
	weighted  decimal.Decimal
	rank      int
	groupSize int
}

func decEq(t *testing.T, want string, got *string, what string) {
	t.Helper()
	require.NotNil(t, got, what)
	require.True(t, decimal.RequireFromString(want).Equal(decimal.RequireFromString(*got)), "%s: want %s, got %s", what, want, *got)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestEndToEndOpenDataSimToReport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	eco, stopSim, err := sim.Start("127.0.0.1:0", sim.DefaultConfig(""))
	require.NoError(t, err)
	defer stopSim(context.Background())

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DirectoryURL = eco.Config().BaseURL + "/participants"
	p, err := startPlatform(ctx, cfg, quietLogger(), platformOpts{simulated: true, progress: io.Discard})
	require.NoError(t, err)
	closed := false
	defer func() {
		if !closed {
			p.close(context.Background())
		}
	}()

	sum, err := p.collectOpenData(ctx, cfg.DirectoryURL)
	require.NoError(t, err)
	status := map[string]string{}
	for _, st := range sum.Statuses {
		status[st.Institution.OrganisationID] = st.Status
	}
	complete := 0
	for _, o := range eco.Organisations() {
		if o.Status != "Active" {
			require.NotContains(t, status, o.ID, "inactive organisations are not collected")
			continue
		}
		if o.Complete {
			complete++
			require.Equal(t, "ok", status[o.ID], "%s serves every product", o.Name)
		}
	}
	require.GreaterOrEqual(t, complete, 12)

	want := expectedFees(t, eco)
	rows, err := p.wh.Fees(ctx, warehouse.FeeFilter{})
	require.NoError(t, err)
	missing := 0
	for _, r := range rows {
		k := feeKey{r.OrganisationID, r.InstitutionCNPJ, r.Brand, r.Product, r.Segment, r.ProductType, r.ServiceCode, r.Currency}
		if _, ok := want[k]; !ok {
			if missing < 5 {
				t.Logf("not in the simulator's data: %+v", k)
			}
			missing++
		}
	}
	require.Zero(t, missing, "rows that are not in the simulator's data")
	require.Equal(t, len(want), len(rows), "one row per institution and comparison group")
	for _, r := range rows {
		k := feeKey{r.OrganisationID, r.InstitutionCNPJ, r.Brand, r.Product, r.Segment, r.ProductType, r.ServiceCode, r.Currency}
		e, ok := want[k]
		require.True(t, ok, "row %+v is not in the simulator's data", k)
		f := e.fact
		what := fmt.Sprintf("%s %s %s", f.Brand, f.Product, f.ServiceCode)
		require.Equal(t, f.InstitutionName, r.InstitutionName, what)
		require.Equal(t, f.ServiceName, r.ServiceName, what)
		decEq(t, f.Minimum, r.Minimum, what+" minimum")
		decEq(t, f.Maximum, r.Maximum, what+" maximum")
		for i := 0; i < 4; i++ {
			decEq(t, f.BandMedians[i], r.BandMedians[i], fmt.Sprintf("%s band %d median", what, i+1))
			decEq(t, f.BandCustomers[i], r.BandCustomerRates[i], fmt.Sprintf("%s band %d customers", what, i+1))
		}
		decEq(t, e.weighted.String(), r.WeightedEstimate, what+" weighted estimate")
		require.Equal(t, int64(e.rank), r.Rank, what+" rank")
		require.Equal(t, int64(e.groupSize), r.GroupSize, what+" group size")
		require.True(t, r.Simulated, "figures from the simulator are labelled simulated")
		require.Equal(t, sum.CollectionID, r.CollectionID)
	}

	// The HTTP API serves the same rows in the documented JSON contract.
	srv := httptest.NewServer(warehouse.NewAPI(p.wh, quietLogger()))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/analytics/v1/fees?product=personal-accounts")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var objs []map[string]any
	require.NoError(t, json.Unmarshal(body, &objs))
	require.NotEmpty(t, objs)
	for _, field := range []string{"institution_cnpj", "institution_name", "brand", "product", "segment", "product_type", "service_code",
		"service_name", "currency", "minimum", "maximum", "band_medians", "band_customer_rates", "weighted_estimate", "rank", "collected_at"} {
		require.Contains(t, objs[0], field)
	}
	require.IsType(t, "", objs[0]["minimum"], "decimals are strings")
	require.Len(t, objs[0]["band_medians"], 4)

	rates, err := p.wh.Rates(ctx, warehouse.RateFilter{})
	require.NoError(t, err)
	require.NotEmpty(t, rates)

	// The warehouse rebuilt from the lake alone answers identically.
	closed = true
	p.close(context.Background())
	before := mustFees(t, cfg.Path("warehouse.duckdb"))
	beforeRates := mustRates(t, cfg.Path("warehouse.duckdb"))
	var out bytes.Buffer
	require.NoError(t, runWarehouse(ctx, []string{"rebuild", "--data-dir", cfg.DataDir, "--log-level", "error"}, &out, io.Discard))
	require.Contains(t, out.String(), "warehouse rebuilt from the lake")
	require.Equal(t, before, mustFees(t, cfg.Path("warehouse.duckdb")))
	require.Equal(t, beforeRates, mustRates(t, cfg.Path("warehouse.duckdb")))

	// The report command reads the same warehouse.
	out.Reset()
	require.NoError(t, runReport(ctx, []string{"fees", "--data-dir", cfg.DataDir, "--format", "json", "--product", "business-loans"}, &out, io.Discard))
	var reported []warehouse.FeeComparison
	require.NoError(t, json.Unmarshal(out.Bytes(), &reported))
	var wantLoans []warehouse.FeeComparison
	for _, r := range before {
		if r.Product == "business-loans" {
			wantLoans = append(wantLoans, r)
		}
	}
	require.Equal(t, len(wantLoans), len(reported))
}

func mustFees(t *testing.T, path string) []warehouse.FeeComparison {
	t.Helper()
	s, err := warehouse.OpenReadOnly(path, warehouse.DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	rows, err := s.Fees(context.Background(), warehouse.FeeFilter{})
	require.NoError(t, err)
	return rows
}

func mustRates(t *testing.T, path string) []warehouse.RateComparison {
	t.Helper()
	s, err := warehouse.OpenReadOnly(path, warehouse.DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	rows, err := s.Rates(context.Background(), warehouse.RateFilter{})
	require.NoError(t, err)
	return rows
}
