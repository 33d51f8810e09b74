package directory

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Product endpoint names of the open-data APIs (the last path segment).
var allProducts = []string{
	"personal-accounts", "business-accounts",
	"personal-credit-cards", "business-credit-cards",
	"personal-loans", "business-loans",
	"personal-financings", "business-financings",
	"personal-invoice-financings", "business-invoice-financings",
	"personal-unarranged-account-overdraft", "business-unarranged-account-overdraft",
}

// familyProducts maps each open-data ApiFamilyType to the product endpoints
// it serves (products-services 1.x/3.x and opendata-* 1.0.1 specs).
var familyProducts = map[string][]string{
	"products-services":          allProducts,
	"opendata-accounts":          {"personal-accounts", "business-accounts"},
	"opendata-creditcards":       {"personal-credit-cards", "business-credit-cards"},
	"opendata-loans":             {"personal-loans", "business-loans"},
	"opendata-financings":        {"personal-financings", "business-financings"},
	"opendata-invoicefinancings": {"personal-invoice-financings", "business-invoice-financings"},
	"opendata-unarranged":        {"personal-unarranged-account-overdraft", "business-unarranged-account-overdraft"},
}

// FamilyProducts returns the product endpoint names of an open-data family,
// or nil when family is not one ofp collects.
func FamilyProducts(family string) []string {
	p := familyProducts[family]
	if p == nil {
		return nil
	}
	return append([]string(nil), p...)
}

// Endpoint is one open-data URL to collect, attributed to one institution.
type Endpoint struct {
	OrganisationID        string
	OrganisationName      string
	CNPJ                  string // digits only
	Brand                 string // AuthorisationServer.CustomerFriendlyName
	AuthorisationServerID string
	Family                string // ApiFamilyType, e.g. "products-services", "opendata-accounts"
	Version               string // ApiVersion as text: "1" (2021 style) or "1.0.1"
	Product               string // e.g. "personal-accounts"
	URL                   string
	// Derived is true when the directory listed only the family's base URL
	// (".../products-services/v1", 2021 style) and this product's URL was
	// derived from it: the institution may not offer the product, and a
	// 404 there says so rather than that something failed.
	Derived bool
	// SharedWith lists every other (organisation, brand) that publishes the
	// same URL. The endpoint is attributed to the first listing in
	// OrganisationId order; the payload's own participant fields say whose
	// data it really is.
	SharedWith []Listing
}

// Listing is one (organisation, brand) that publishes a URL.
type Listing struct {
	OrganisationID        string
	OrganisationName      string
	CNPJ                  string
	Brand                 string
	AuthorisationServerID string
}

// SkipReason says why a part of the directory produced no endpoint.
type SkipReason string

// Reasons counted in DiscoveryReport.Skipped.
const (
	SkipOrgMissingID      SkipReason = "org_missing_id"            // organisation without OrganisationId
	SkipOrgNotActive      SkipReason = "org_not_active"            // Status is not Active (Pending, Withdrawn, empty)
	SkipOrgNoActiveRole   SkipReason = "org_no_active_role"        // has role claims but none is Active
	SkipServerRetired     SkipReason = "server_retired"            // RetirementDate is in the past
	SkipFamilyNotOpenData SkipReason = "family_not_opendata"       // ApiResource of another family (counted, no finding)
	SkipURLEmpty          SkipReason = "url_empty"                 // ApiEndpoint missing
	SkipURLInvalid        SkipReason = "url_invalid"               // unparseable, no host, carries credentials, or a stray brace
	SkipURLScheme         SkipReason = "url_scheme"                // scheme other than https/http
	SkipURLTemplated      SkipReason = "url_templated"             // path has {param} placeholders
	SkipURLUnknownProduct SkipReason = "url_unknown_product"       // last segment is no known product nor a vN base
	SkipURLFamilyMismatch SkipReason = "url_product_not_in_family" // known product listed under another family
	SkipURLDuplicate      SkipReason = "url_duplicate"             // URL already attributed (recorded in SharedWith; counted, no finding)
)

// Finding is one skipped item worth an operator's attention.
type Finding struct {
	Reason                SkipReason
	OrganisationID        string
	AuthorisationServerID string
	Family                string
	URL                   string
	Detail                string
}

// DiscoveryReport says what discovery kept and what it skipped.
type DiscoveryReport struct {
	Organisations int                // organisations examined
	Endpoints     int                // endpoints returned
	Skipped       map[SkipReason]int // counts per reason
	Findings      []Finding          // every skip except family_not_opendata and url_duplicate
}

// DiscoverOptions tunes Discover.
type DiscoverOptions struct {
	// Now decides whether a RetirementDate has passed; zero means time.Now().
	Now time.Time
}

// OpenDataEndpoints is Discover with default options, without the report.
func OpenDataEndpoints(orgs []Organisation) []Endpoint {
	eps, _ := Discover(orgs, DiscoverOptions{})
	return eps
}

var (
	versionSegment = regexp.MustCompile(`^v[0-9]+$`)
	templated      = regexp.MustCompile(`\{[^}]*\}`)
)

// Discover lists the open-data endpoints of the directory:
//   - organisations with Status Active and, when they list role claims, at
//     least one Active role claim;
//   - authorisation servers not past their RetirementDate;
//   - ApiResources of family products-services or opendata-*;
//   - a URL ending in a version segment (".../products-services/v1", 2021
//     style) expands to one URL per product of the family; a URL ending in a
//     product name (current style) is kept when the product belongs to the
//     family; templated URLs ("{id}") are skipped;
//   - https and http URLs only.
//
// Organisations are visited in OrganisationId order, so a URL listed by
// several organisations or brands is attributed to the first and the others
// go to SharedWith. Output order is deterministic for a given input.
func Discover(orgs []Organisation, opts DiscoverOptions) ([]Endpoint, DiscoveryReport) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := DiscoveryReport{Skipped: map[SkipReason]int{}}
	skip := func(f Finding, record bool) {
		rep.Skipped[f.Reason]++
		if record {
			rep.Findings = append(rep.Findings, f)
		}
	}

	order := make([]int, len(orgs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return orgs[order[a]].OrganisationID < orgs[order[b]].OrganisationID })

	var out []Endpoint
	byURL := map[string]int{} // normalised URL -> index in out

	for _, oi := range order {
		org := &orgs[oi]
		rep.Organisations++
		if strings.TrimSpace(org.OrganisationID) == "" {
			skip(Finding{Reason: SkipOrgMissingID, Detail: org.OrganisationName}, true)
			continue
		}
		if !strings.EqualFold(strings.TrimSpace(org.Status), "Active") {
			skip(Finding{Reason: SkipOrgNotActive, OrganisationID: org.OrganisationID, Detail: "status " + org.Status}, true)
			continue
		}
		if !hasActiveRole(org.OrgDomainRoleClaims) {
			skip(Finding{Reason: SkipOrgNoActiveRole, OrganisationID: org.OrganisationID}, true)
			continue
		}
		cnpj := digitsOnly(org.RegistrationNumber)
		for _, as := range org.AuthorisationServers {
			if t, ok := parseDirectoryDate(as.RetirementDate); ok && !t.After(now) {
				skip(Finding{Reason: SkipServerRetired, OrganisationID: org.OrganisationID,
					AuthorisationServerID: as.AuthorisationServerID, Detail: "retired " + as.RetirementDate}, true)
				continue
			}
			listing := Listing{
				OrganisationID:        org.OrganisationID,
				OrganisationName:      org.OrganisationName,
				CNPJ:                  cnpj,
				Brand:                 strings.TrimSpace(as.CustomerFriendlyName),
				AuthorisationServerID: as.AuthorisationServerID,
			}
			for _, res := range as.APIResources {
				family := strings.ToLower(strings.TrimSpace(res.APIFamilyType))
				products, ok := familyProducts[family]
				if !ok {
					skip(Finding{Reason: SkipFamilyNotOpenData}, false)
					continue
				}
				for _, de := range res.APIDiscoveryEndpoints {
					base := Finding{OrganisationID: org.OrganisationID, AuthorisationServerID: as.AuthorisationServerID,
						Family: family, URL: de.APIEndpoint}
					urls, reason, detail := expand(de.APIEndpoint, family, products)
					if reason != "" {
						base.Reason, base.Detail = reason, detail
						skip(base, true)
						continue
					}
					for _, pu := range urls {
						if i, dup := byURL[pu.url]; dup {
							if !hasListing(out[i], listing) {
								out[i].SharedWith = append(out[i].SharedWith, listing)
							}
							skip(Finding{Reason: SkipURLDuplicate}, false)
							continue
						}
						byURL[pu.url] = len(out)
						out = append(out, Endpoint{
							OrganisationID:        listing.OrganisationID,
							OrganisationName:      listing.OrganisationName,
							CNPJ:                  listing.CNPJ,
							Brand:                 listing.Brand,
							AuthorisationServerID: listing.AuthorisationServerID,
							Family:                family,
							Version:               versionOf(res.APIVersion, pu.url),
							Product:               pu.product,
							URL:                   pu.url,
							Derived:               pu.derived,
						})
					}
				}
			}
		}
	}
	rep.Endpoints = len(out)
	return out, rep
}

type productURL struct {
	url, product string
	derived      bool // from a family base URL
}

// expand turns one ApiEndpoint into product URLs, or returns why it cannot.
func expand(raw, family string, products []string) ([]productURL, SkipReason, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, SkipURLEmpty, ""
	}
	if reason, detail := braces(raw, ""); reason != "" {
		return nil, reason, detail
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, SkipURLInvalid, err.Error()
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return nil, SkipURLScheme, "scheme " + strings.ToValidUTF8(u.Scheme, "?")
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return nil, SkipURLInvalid, "no host, or credentials in URL"
	}
	if reason, detail := braces(u.Path, "encoded "); reason != "" {
		return nil, reason, detail
	}
	u.Scheme = scheme
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
	path := strings.TrimRight(u.Path, "/")
	last := path[strings.LastIndex(path, "/")+1:]
	if versionSegment.MatchString(last) {
		out := make([]productURL, 0, len(products))
		for _, p := range products {
			pu := *u
			pu.Path, pu.RawPath = path+"/"+p, ""
			out = append(out, productURL{url: pu.String(), product: p, derived: true})
		}
		return out, "", ""
	}
	for _, p := range products {
		if last == p {
			u.Path, u.RawPath = path, ""
			return []productURL{{url: u.String(), product: p}}, "", ""
		}
	}
	for _, p := range allProducts {
		if last == p {
			return nil, SkipURLFamilyMismatch, "product " + p
		}
	}
	return nil, SkipURLUnknownProduct, ""
}

// braces says why s (a URL, or its decoded path: what names "encoded ")
// cannot be fetched because of a brace: a {param} placeholder, or a brace
// no URL may hold (RFC 3986 has none unescaped).
func braces(s, what string) (SkipReason, string) {
	switch {
	case templated.MatchString(s):
		if what == "" {
			return SkipURLTemplated, ""
		}
		return SkipURLTemplated, what + "placeholder"
	case strings.ContainsAny(s, "{}"):
		return SkipURLInvalid, what + "unpaired brace"
	}
	return "", ""
}

func hasActiveRole(claims []OrgDomainRoleClaim) bool {
	if len(claims) == 0 {
		return true // the record says nothing: keep it
	}
	for _, c := range claims {
		if strings.EqualFold(strings.TrimSpace(c.Status), "Active") {
			return true
		}
	}
	return false
}

func hasListing(ep Endpoint, l Listing) bool {
	if ep.OrganisationID == l.OrganisationID && ep.AuthorisationServerID == l.AuthorisationServerID {
		return true
	}
	for _, s := range ep.SharedWith {
		if s.OrganisationID == l.OrganisationID && s.AuthorisationServerID == l.AuthorisationServerID {
			return true
		}
	}
	return false
}

// versionOf returns the declared ApiVersion, or the major from the URL's
// "/vN/" segment when the directory left it empty.
func versionOf(v Version, rawURL string) string {
	if s := string(v); s != "" {
		return s
	}
	for _, seg := range strings.Split(rawURL, "/") {
		if versionSegment.MatchString(seg) {
			return seg[1:]
		}
	}
	return ""
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' { // ASCII only: other Unicode digits are no part of a CNPJ
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseDirectoryDate reads the date formats seen in directory records.
func parseDirectoryDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999", "2006-01-02", "02/01/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
