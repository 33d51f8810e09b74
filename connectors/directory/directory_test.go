package directory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func parseFixture(t *testing.T, name string) []Organisation {
	t.Helper()
	orgs, rejected, err := ParseParticipants(readFixture(t, name))
	require.NoError(t, err)
	require.Empty(t, rejected)
	return orgs
}

func TestParse2021Snapshot(t *testing.T) {
	orgs := parseFixture(t, "participants-2021-subset.json")
	require.Len(t, orgs, 8)
	var found bool
	for _, o := range orgs {
		for _, as := range o.AuthorisationServers {
			for _, r := range as.APIResources {
				if r.APIFamilyType == "products-services" {
					found = true
					require.Equal(t, Version("1"), r.APIVersion, "integer ApiVersion 1 reads as \"1\"")
				}
			}
		}
	}
	require.True(t, found)
}

func TestParseModernExample(t *testing.T) {
	orgs := parseFixture(t, "participant-modern.json")
	require.Len(t, orgs, 1)
	o := orgs[0]
	require.Equal(t, "fefac57d-1d50-5615-89b2-0b2d80623a28", o.OrganisationID)
	require.Equal(t, "07853842000135", o.RegistrationNumber)
	require.Len(t, o.AuthorisationServers, 1)
	require.Equal(t, Version("1"), o.AuthorisationServers[0].APIResources[0].APIVersion)
	require.Equal(t, "payments-pix", o.AuthorisationServers[0].APIResources[0].APIFamilyType)
	// The example lists payments only: nothing to collect, nothing broken.
	eps, rep := Discover(orgs, DiscoverOptions{})
	require.Empty(t, eps)
	require.Equal(t, 2, rep.Skipped[SkipFamilyNotOpenData])
	require.Empty(t, rep.Findings)
}

func TestParseRejectsBadRecordOnly(t *testing.T) {
	orgs, rejected, err := ParseParticipants(readFixture(t, "participants-modern-opendata.json"))
	require.NoError(t, err)
	require.Len(t, orgs, 3, "the null element is skipped, the broken one rejected")
	require.Len(t, rejected, 1)
	require.Equal(t, 3, rejected[0].Index)
	require.Contains(t, rejected[0].Error(), "participants[3]")
}

func TestParseNotAList(t *testing.T) {
	_, _, err := ParseParticipants([]byte(`{"data": []}`))
	require.ErrorIs(t, err, ErrNotParticipantsList)
	_, _, err = ParseParticipants([]byte(`[{"OrganisationId": "x"`))
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNotParticipantsList)
	orgs, _, err := ParseParticipants([]byte("\xef\xbb\xbf [] "))
	require.NoError(t, err)
	require.Empty(t, orgs)
}

func TestVersionDecoding(t *testing.T) {
	cases := map[string]Version{
		`{"ApiVersion": 1}`:          "1",
		`{"ApiVersion": "1"}`:        "1",
		`{"ApiVersion": " 2.0.1 "}`:  "2.0.1",
		`{"ApiVersion": 1.0}`:        "1.0",
		`{"ApiVersion": null}`:       "",
		`{}`:                         "",
		`{"ApiVersion": "1.0.0-rc"}`: "1.0.0-rc",
	}
	for in, want := range cases {
		orgs, rejected, err := ParseParticipants([]byte(`[{"OrganisationId":"o","AuthorisationServers":[{"ApiResources":[` + in + `]}]}]`))
		require.NoError(t, err, in)
		require.Empty(t, rejected, in)
		require.Equal(t, want, orgs[0].AuthorisationServers[0].APIResources[0].APIVersion, in)
	}
	_, rejected, err := ParseParticipants([]byte(`[{"AuthorisationServers":[{"ApiResources":[{"ApiVersion": true}]}]}]`))
	require.NoError(t, err)
	require.Len(t, rejected, 1)
}

func TestDiscover2021BaseURLs(t *testing.T) {
	orgs := parseFixture(t, "participants-2021-subset.json")
	eps, rep := Discover(orgs, DiscoverOptions{})

	// Bradesco (2 brands), Itaú (shared by 5 listings), Acesso, BB: 5 distinct bases x 12 products.
	require.Len(t, eps, 5*12)
	require.Equal(t, 60, rep.Endpoints)
	require.Empty(t, rep.Findings)
	// Itaú's base is listed by 5 (organisation, brand) pairs; 4 x 12 are duplicates.
	require.Equal(t, 4*12, rep.Skipped[SkipURLDuplicate])

	byURL := map[string]Endpoint{}
	for _, e := range eps {
		_, dup := byURL[e.URL]
		require.False(t, dup, "URL %s returned twice", e.URL)
		byURL[e.URL] = e
		require.Equal(t, "products-services", e.Family)
		require.Equal(t, "1", e.Version)
		require.Regexp(t, `^[0-9]+$`, e.CNPJ)
		require.True(t, e.Derived, "%s comes from a base URL", e.URL)
	}

	itau := byURL["https://api.itau/open-banking/products-services/v1/personal-accounts"]
	// Lowest OrganisationId among the listings wins: 9c721898 < a3280c20 < b6b68aba.
	require.Equal(t, "9c721898-9ce0-50f1-bf85-05075557850b", itau.OrganisationID)
	require.Equal(t, "personal-accounts", itau.Product)
	require.Len(t, itau.SharedWith, 4)
	brands := []string{}
	for _, s := range itau.SharedWith {
		brands = append(brands, s.Brand)
	}
	require.ElementsMatch(t, []string{"Itaú", "Itaucard", "Credicard", "Iti"}, brands)

	next := byURL["https://api.bradesco.com/Next/open-banking/products-services/v1/business-unarranged-account-overdraft"]
	require.Equal(t, "Banco Digital next", next.Brand)
	require.Equal(t, "60746948", next.CNPJ)
	require.Equal(t, "business-unarranged-account-overdraft", next.Product)

	// Deterministic whatever the input order.
	rev := append([]Organisation(nil), orgs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	eps2, _ := Discover(rev, DiscoverOptions{})
	require.Equal(t, len(eps), len(eps2))
	for i := range eps {
		require.Equal(t, eps[i].URL, eps2[i].URL)
		require.Equal(t, eps[i].OrganisationID, eps2[i].OrganisationID)
	}
}

func TestDiscoverModernRecords(t *testing.T) {
	orgs, _, err := ParseParticipants(readFixture(t, "participants-modern-opendata.json"))
	require.NoError(t, err)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	eps, rep := Discover(orgs, DiscoverOptions{Now: now})

	urls := []string{}
	for _, e := range eps {
		urls = append(urls, e.URL)
		require.Equal(t, "11111111-0000-4000-8000-000000000001", e.OrganisationID)
		require.Equal(t, "12345678000195", e.CNPJ)
		require.Equal(t, "Moderno", e.Brand)
		require.Equal(t, "as-moderno-1", e.AuthorisationServerID)
		require.False(t, e.Derived, "%s is listed as it is", e.URL)
	}
	require.Equal(t, []string{
		"https://api.moderno.example/open-banking/opendata-accounts/v1/personal-accounts",
		"https://api.moderno.example/open-banking/opendata-accounts/v1/business-accounts",
		"http://mirror.local:8080/open-banking/opendata-loans/v1/business-loans",
	}, urls)
	require.Equal(t, "1.0.1", eps[0].Version)
	require.Equal(t, "business-accounts", eps[1].Product)
	require.Equal(t, "opendata-loans", eps[2].Family)
	require.Equal(t, "1.0", eps[2].Version)

	require.Equal(t, map[SkipReason]int{
		SkipURLTemplated:      1,
		SkipURLFamilyMismatch: 1,
		SkipURLEmpty:          1,
		SkipURLScheme:         1,
		SkipURLUnknownProduct: 1,
		SkipFamilyNotOpenData: 1,
		SkipServerRetired:     1,
		SkipOrgNotActive:      1,
		SkipOrgNoActiveRole:   1,
	}, rep.Skipped)
	require.Equal(t, 3, rep.Organisations)
	require.Len(t, rep.Findings, 8)
	var scheme Finding
	for _, f := range rep.Findings {
		if f.Reason == SkipURLScheme {
			scheme = f
		}
	}
	require.Equal(t, "ftp://api.moderno.example/open-banking/opendata-loans/v1/personal-loans", scheme.URL)
	require.Equal(t, "scheme ftp", scheme.Detail)

	// Before its retirement date the old server still counts.
	eps, _ = Discover(orgs, DiscoverOptions{Now: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.Len(t, eps, 4)
	require.Equal(t, "Moderno Antigo", eps[3].Brand)
	require.Equal(t, "personal-financings", eps[3].Product)
}

func TestDiscoverInactiveOrganisationFiltered(t *testing.T) {
	orgs := parseFixture(t, "participants-2021-subset.json")
	for i := range orgs {
		if orgs[i].OrganisationID == "9415f224-9f58-56b5-af4c-085b4438e4eb" { // Banco do Brasil
			orgs[i].Status = "Pending"
		}
	}
	eps, rep := Discover(orgs, DiscoverOptions{})
	require.Len(t, eps, 4*12)
	for _, e := range eps {
		require.NotContains(t, e.URL, "bb.com.br")
	}
	require.Equal(t, 1, rep.Skipped[SkipOrgNotActive])
	require.Equal(t, eps, OpenDataEndpoints(orgs))
}

func TestDiscoverURLEdgeCases(t *testing.T) {
	org := func(urls ...string) []Organisation {
		var des []APIDiscoveryEndpoint
		for _, u := range urls {
			des = append(des, APIDiscoveryEndpoint{APIEndpoint: u})
		}
		return []Organisation{{OrganisationID: "o", Status: "Active", AuthorisationServers: []AuthorisationServer{{
			APIResources: []APIResource{{APIFamilyType: "products-services", APIDiscoveryEndpoints: des}},
		}}}}
	}
	eps, rep := Discover(org(
		"https://user:pw@x.example/open-banking/products-services/v1",
		"javascript:alert(1)",
		"https://x.example/open-banking/products-services/v1/personal-accounts/%7BproductId%7D",
		"https://x.example/open-banking/products-services/v2/#frag",
		"://bad",
		"https:///nohost/v1",
		"https://x.example/open-banking/products-services}v1/personal-accounts",   // a brace no template explains
		"https://x.example/open-banking/products-services%7Bv1/personal-accounts", // the same, escaped
	), DiscoverOptions{})
	require.Len(t, eps, 12)
	require.Equal(t, "https://x.example/open-banking/products-services/v2/personal-accounts", eps[0].URL)
	require.Equal(t, "2", eps[0].Version, "version from the URL when the directory gives none")
	require.Equal(t, 5, rep.Skipped[SkipURLInvalid])
	require.Equal(t, 1, rep.Skipped[SkipURLScheme])
	require.Equal(t, 1, rep.Skipped[SkipURLTemplated])
}

func TestClientParticipants(t *testing.T) {
	body := readFixture(t, "participants-2021-subset.json")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		require.Equal(t, "application/json", r.Header.Get("Accept"))
		switch n {
		case 1:
			w.WriteHeader(http.StatusBadGateway)
		case 2:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			_, _ = w.Write(body)
		}
	}))
	defer srv.Close()

	var sleeps []time.Duration
	opts := DefaultOptions()
	opts.HTTPClient = srv.Client()
	opts.Backoff = 100 * time.Millisecond
	opts.Sleep = func(ctx context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }
	c, err := NewClient(opts)
	require.NoError(t, err)

	orgs, err := c.Participants(context.Background(), srv.URL+"/participants")
	require.NoError(t, err)
	require.Len(t, orgs, 8)
	require.Equal(t, int32(3), calls.Load())
	require.Len(t, sleeps, 2)
	require.GreaterOrEqual(t, sleeps[0], 50*time.Millisecond)
	require.LessOrEqual(t, sleeps[0], 100*time.Millisecond)
	require.Equal(t, 7*time.Second, sleeps[1], "Retry-After honoured")
}

func TestClientGivesUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/big" {
			_, _ = w.Write(make([]byte, 2048))
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	opts := DefaultOptions()
	opts.HTTPClient = srv.Client()
	opts.MaxRetries = 2
	opts.MaxBodyBytes = 1024
	opts.Sleep = func(ctx context.Context, d time.Duration) error { return nil }
	c, err := NewClient(opts)
	require.NoError(t, err)

	_, err = c.Participants(context.Background(), srv.URL+"/down")
	var se *StatusError
	require.True(t, errors.As(err, &se))
	require.Equal(t, 500, se.StatusCode)
	require.Equal(t, int32(3), calls.Load())

	calls.Store(0)
	_, err = c.Participants(context.Background(), srv.URL+"/missing")
	require.True(t, errors.As(err, &se))
	require.Equal(t, 404, se.StatusCode)
	require.Equal(t, int32(1), calls.Load(), "404 is not retried")

	_, err = c.Participants(context.Background(), srv.URL+"/big")
	require.ErrorContains(t, err, "MaxBodyBytes")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Participants(ctx, srv.URL+"/down")
	require.ErrorIs(t, err, context.Canceled)
}
