package directory

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzParseParticipants(f *testing.F) {
	f.Add([]byte(`[{"OrganisationId":"o","Status":"Active","AuthorisationServers":[{"ApiResources":[{"ApiFamilyType":"products-services","ApiVersion":1,"ApiDiscoveryEndpoints":[{"ApiEndpoint":"https://x/open-banking/products-services/v1"}]}]}]}]`))
	f.Add([]byte(`[null, 1, "x", {"ApiVersion": {}}]`))
	f.Add([]byte(`[{"OrganisationId":"b","Status":"Active","OrgDomainRoleClaims":[{"Status":"Inactive"}]},{"OrganisationId":"a","Status":"Active","RegistrationNumber":"12.345/0001-00","AuthorisationServers":[{"AuthorisationServerId":"s","RetirementDate":"1960-01-01","ApiResources":[{"ApiFamilyType":"opendata-accounts","ApiVersion":"1.0.1","ApiDiscoveryEndpoints":[{"ApiEndpoint":"http://h:8080/open-banking/opendata-accounts/v1/personal-accounts"},{"ApiEndpoint":"https://h/x/{id}"}]}]}]}]`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	// The fixture files are parsed by the regular tests; large seeds make the
	// fuzzing engine crawl on this machine, so the seeds here stay small.
	f.Fuzz(func(t *testing.T, data []byte) {
		orgs, rejected, err := ParseParticipants(data)
		if err != nil {
			if len(orgs) != 0 || len(rejected) != 0 {
				t.Fatalf("error %v with results", err)
			}
			return
		}
		eps, rep := Discover(orgs, DiscoverOptions{Now: time.Unix(0, 0)})
		if rep.Endpoints != len(eps) {
			t.Fatalf("report says %d endpoints, got %d", rep.Endpoints, len(eps))
		}
		seen := map[string]bool{}
		for _, e := range eps {
			if seen[e.URL] {
				t.Fatalf("duplicate URL %q", e.URL)
			}
			seen[e.URL] = true
			u, err := url.Parse(e.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				t.Fatalf("unsafe endpoint URL %q", e.URL)
			}
			if strings.ContainsAny(u.Path, "{}") {
				t.Fatalf("templated URL kept %q", e.URL)
			}
			if !strings.HasSuffix(u.Path, "/"+e.Product) {
				t.Fatalf("product %q not at end of %q", e.Product, e.URL)
			}
		}
	})
}
