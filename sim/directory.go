package sim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

//go:embed seed/directory-participants-snapshot-2021.json
var snapshot2021 []byte

// Input shape of the 2021 dump (only what the simulator reads).
type dumpOrg struct {
	OrganisationID              string        `json:"OrganisationId"`
	Status                      string        `json:"Status"`
	OrganisationName            string        `json:"OrganisationName"`
	CreatedOn                   string        `json:"CreatedOn"`
	LegalEntityName             string        `json:"LegalEntityName"`
	CountryOfRegistration       string        `json:"CountryOfRegistration"`
	CompanyRegister             string        `json:"CompanyRegister"`
	RegistrationNumber          string        `json:"RegistrationNumber"`
	RegistrationID              *string       `json:"RegistrationId"`
	RegisteredName              string        `json:"RegisteredName"`
	AddressLine1                string        `json:"AddressLine1"`
	AddressLine2                string        `json:"AddressLine2"`
	City                        string        `json:"City"`
	Postcode                    string        `json:"Postcode"`
	Country                     string        `json:"Country"`
	ParentOrganisationReference *string       `json:"ParentOrganisationReference"`
	AuthorisationServers        []dumpAS      `json:"AuthorisationServers"`
	OrgDomainClaims             []domainClaim `json:"OrgDomainClaims"`
	OrgDomainRoleClaims         []roleClaim   `json:"OrgDomainRoleClaims"`
}

type dumpAS struct {
	AuthorisationServerID       string       `json:"AuthorisationServerId"`
	AutoRegistrationSupported   bool         `json:"AutoRegistrationSupported"`
	CustomerFriendlyDescription *string      `json:"CustomerFriendlyDescription"`
	CustomerFriendlyLogoURI     string       `json:"CustomerFriendlyLogoUri"`
	CustomerFriendlyName        string       `json:"CustomerFriendlyName"`
	DeveloperPortalURI          string       `json:"DeveloperPortalUri"`
	TermsOfServiceURI           string       `json:"TermsOfServiceUri"`
	ApiResources                []dumpApiRes `json:"ApiResources"`
}

type dumpApiRes struct {
	ApiResourceID         string          `json:"ApiResourceId"`
	ApiFamilyType         string          `json:"ApiFamilyType"`
	ApiVersion            json.RawMessage `json:"ApiVersion"`
	ApiDiscoveryEndpoints []apiEndpoint   `json:"ApiDiscoveryEndpoints"`
}

// Output shape (directory-participants 1.1.0). Absent values are omitted
// rather than null: the spec declares no field nullable.

type participant struct {
	OrganisationID              string        `json:"OrganisationId"`
	Status                      string        `json:"Status"`
	OrganisationName            string        `json:"OrganisationName"`
	CreatedOn                   string        `json:"CreatedOn,omitempty"`
	LegalEntityName             string        `json:"LegalEntityName,omitempty"`
	CountryOfRegistration       string        `json:"CountryOfRegistration,omitempty"`
	CompanyRegister             string        `json:"CompanyRegister,omitempty"`
	RegistrationNumber          string        `json:"RegistrationNumber"`
	RegistrationID              string        `json:"RegistrationId,omitempty"`
	RegisteredName              string        `json:"RegisteredName,omitempty"`
	AddressLine1                string        `json:"AddressLine1,omitempty"`
	AddressLine2                string        `json:"AddressLine2,omitempty"`
	City                        string        `json:"City,omitempty"`
	Postcode                    string        `json:"Postcode,omitempty"`
	Country                     string        `json:"Country,omitempty"`
	ParentOrganisationReference string        `json:"ParentOrganisationReference,omitempty"`
	AuthorisationServers        []authServer  `json:"AuthorisationServers"`
	OrgDomainClaims             []domainClaim `json:"OrgDomainClaims"`
	OrgDomainRoleClaims         []roleClaim   `json:"OrgDomainRoleClaims"`
}

type authServer struct {
	AuthorisationServerID             string        `json:"AuthorisationServerId"`
	OrganisationID                    string        `json:"OrganisationId"`
	AutoRegistrationSupported         bool          `json:"AutoRegistrationSupported"`
	SupportsCiba                      bool          `json:"SupportsCiba"`
	SupportsDCR                       bool          `json:"SupportsDCR"`
	ApiResources                      []apiResource `json:"ApiResources"`
	AuthorisationServerCertifications []struct{}    `json:"AuthorisationServerCertifications"`
	CustomerFriendlyDescription       string        `json:"CustomerFriendlyDescription"`
	CustomerFriendlyLogoURI           string        `json:"CustomerFriendlyLogoUri,omitempty"`
	CustomerFriendlyName              string        `json:"CustomerFriendlyName"`
	DeveloperPortalURI                string        `json:"DeveloperPortalUri,omitempty"`
	TermsOfServiceURI                 string        `json:"TermsOfServiceUri,omitempty"`
	OpenIDDiscoveryDocument           string        `json:"OpenIDDiscoveryDocument"`
	Issuer                            string        `json:"Issuer"`
	PayloadSigningCertLocationURI     string        `json:"PayloadSigningCertLocationUri"`
}

type apiResource struct {
	ApiResourceID         string          `json:"ApiResourceId"`
	ApiVersion            json.RawMessage `json:"ApiVersion"`
	ApiDiscoveryEndpoints []apiEndpoint   `json:"ApiDiscoveryEndpoints"`
	FamilyComplete        bool            `json:"FamilyComplete"`
	ApiFamilyType         string          `json:"ApiFamilyType"`
}

type apiEndpoint struct {
	ApiDiscoveryID string `json:"ApiDiscoveryId"`
	ApiEndpoint    string `json:"ApiEndpoint"`
}

type domainClaim struct {
	AuthorisationDomainName string `json:"AuthorisationDomainName,omitempty"`
	AuthorityName           string `json:"AuthorityName,omitempty"`
	RegistrationID          string `json:"RegistrationId,omitempty"`
	Status                  string `json:"Status,omitempty"`
}

type roleClaim struct {
	Status              string     `json:"Status,omitempty"`
	AuthorisationDomain string     `json:"AuthorisationDomain,omitempty"`
	Role                string     `json:"Role,omitempty"`
	Authorisations      []struct{} `json:"Authorisations"`
	RegistrationID      string     `json:"RegistrationId,omitempty"`
}

// SimulatedDescription is the CustomerFriendlyDescription of every
// simulated authorisation server: the directory's visible label.
const SimulatedDescription = "SIMULADO pelo ofp: dados fictícios, não publicados por esta instituição"

var svgURI = regexp.MustCompile(`^(http://|https://).*\.(svg)$`)

func parseDump() ([]dumpOrg, error) {
	var orgs []dumpOrg
	if err := json.Unmarshal(snapshot2021, &orgs); err != nil {
		return nil, fmt.Errorf("sim: parse embedded 2021 directory snapshot: %w", err)
	}
	return orgs, nil
}

// NormaliseCNPJ turns a directory RegistrationNumber (formatted, or only
// the 8-digit root as in the 2021 dump) into 14 digits: a 14-digit input is
// kept; otherwise the first 8 digits (left-padded) are the root, the branch
// is 0001, and the two check digits are computed.
func NormaliseCNPJ(reg string) string {
	var d []byte
	for i := 0; i < len(reg); i++ {
		if reg[i] >= '0' && reg[i] <= '9' {
			d = append(d, reg[i])
		}
	}
	if len(d) == 14 {
		return string(d)
	}
	if len(d) > 8 {
		d = d[:8]
	}
	for len(d) < 8 {
		d = append([]byte{'0'}, d...)
	}
	d = append(d, '0', '0', '0', '1')
	d = append(d, cnpjDigit(d, []int{5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}))
	d = append(d, cnpjDigit(d, []int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}))
	return string(d)
}

func cnpjDigit(d []byte, weights []int) byte {
	sum := 0
	for i, w := range weights {
		sum += int(d[i]-'0') * w
	}
	r := sum % 11
	if r < 2 {
		return '0'
	}
	return byte('0' + 11 - r)
}

func cleanName(s string, maxLen int) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncateRunes(s, maxLen)
}

// rewriteEndpoint keeps the part of a real URL from "/open-banking/" on
// and puts it under the institution's sim prefix, so nothing the directory
// lists points at a real host.
func rewriteEndpoint(prefix, raw string) string {
	u, err := url.Parse(raw)
	path := raw
	if err == nil {
		path = u.Path
	}
	if i := strings.Index(path, "/open-banking/"); i >= 0 {
		return prefix + path[i:]
	}
	return prefix + "/open-banking/" + strings.TrimPrefix(path, "/")
}

func (e *Ecosystem) renderDirectory(dump []dumpOrg) ([]byte, error) {
	out := make([]participant, 0, len(dump))
	for _, d := range dump {
		org := e.orgByID[d.OrganisationID]
		p := participant{
			OrganisationID:        d.OrganisationID,
			Status:                org.Status,
			OrganisationName:      d.OrganisationName,
			CreatedOn:             d.CreatedOn,
			LegalEntityName:       d.LegalEntityName,
			CountryOfRegistration: d.CountryOfRegistration,
			CompanyRegister:       d.CompanyRegister,
			RegistrationNumber:    d.RegistrationNumber,
			RegisteredName:        d.RegisteredName,
			AddressLine1:          d.AddressLine1,
			AddressLine2:          d.AddressLine2,
			City:                  d.City,
			Postcode:              d.Postcode,
			Country:               d.Country,
			OrgDomainClaims:       d.OrgDomainClaims,
			OrgDomainRoleClaims:   d.OrgDomainRoleClaims,
			AuthorisationServers:  []authServer{},
		}
		if org.Style == StyleCurrent {
			p.RegistrationNumber = org.CNPJ
		}
		if d.RegistrationID != nil {
			p.RegistrationID = *d.RegistrationID
		}
		if d.ParentOrganisationReference != nil {
			p.ParentOrganisationReference = *d.ParentOrganisationReference
		}
		for i := range p.OrgDomainRoleClaims {
			if p.OrgDomainRoleClaims[i].Authorisations == nil {
				p.OrgDomainRoleClaims[i].Authorisations = []struct{}{}
			}
		}
		if p.OrgDomainClaims == nil {
			p.OrgDomainClaims = []domainClaim{}
		}
		if p.OrgDomainRoleClaims == nil {
			p.OrgDomainRoleClaims = []roleClaim{}
		}
		for _, das := range d.AuthorisationServers {
			inst := e.instByAS[das.AuthorisationServerID]
			prefix := e.cfg.BaseURL + inst.BasePath
			as := authServer{
				AuthorisationServerID:             das.AuthorisationServerID,
				OrganisationID:                    d.OrganisationID,
				AutoRegistrationSupported:         das.AutoRegistrationSupported,
				ApiResources:                      []apiResource{},
				AuthorisationServerCertifications: []struct{}{},
				CustomerFriendlyDescription:       SimulatedDescription,
				CustomerFriendlyName:              das.CustomerFriendlyName,
				OpenIDDiscoveryDocument:           prefix + "/.well-known/openid-configuration",
				Issuer:                            prefix,
				PayloadSigningCertLocationURI:     prefix + "/jwks",
			}
			if svgURI.MatchString(das.CustomerFriendlyLogoURI) {
				as.CustomerFriendlyLogoURI = das.CustomerFriendlyLogoURI
			}
			if strings.HasPrefix(das.DeveloperPortalURI, "http") {
				as.DeveloperPortalURI = das.DeveloperPortalURI
			}
			if strings.HasPrefix(das.TermsOfServiceURI, "http") {
				as.TermsOfServiceURI = das.TermsOfServiceURI
			}
			for _, r := range das.ApiResources {
				if r.ApiFamilyType == FamilyProductsServices {
					if org.Style == Style2021 {
						as.ApiResources = append(as.ApiResources, apiResource{
							ApiResourceID: r.ApiResourceID,
							ApiVersion:    r.ApiVersion,
							ApiDiscoveryEndpoints: []apiEndpoint{{
								ApiDiscoveryID: endpointID(r.ApiResourceID, 0),
								ApiEndpoint:    prefix + "/open-banking/products-services/v1",
							}},
							FamilyComplete: org.Complete,
							ApiFamilyType:  FamilyProductsServices,
						})
					} else {
						as.ApiResources = append(as.ApiResources, e.currentResources(inst, r.ApiResourceID)...)
					}
					continue
				}
				res := apiResource{
					ApiResourceID:         r.ApiResourceID,
					ApiDiscoveryEndpoints: []apiEndpoint{},
					ApiVersion:            r.ApiVersion,
					FamilyComplete:        true,
					ApiFamilyType:         r.ApiFamilyType,
				}
				if org.Style == StyleCurrent {
					res.ApiVersion = semver(r.ApiVersion)
				}
				for _, ep := range r.ApiDiscoveryEndpoints {
					res.ApiDiscoveryEndpoints = append(res.ApiDiscoveryEndpoints, apiEndpoint{
						ApiDiscoveryID: ep.ApiDiscoveryID,
						ApiEndpoint:    rewriteEndpoint(prefix, ep.ApiEndpoint),
					})
				}
				as.ApiResources = append(as.ApiResources, res)
			}
			p.AuthorisationServers = append(p.AuthorisationServers, as)
		}
		out = append(out, p)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("sim: encode directory: %w", err)
	}
	return b, nil
}

// currentResources lists one ApiResource per opendata-* family the
// institution serves, with one concrete URL per endpoint.
func (e *Ecosystem) currentResources(inst *Institution, baseID string) []apiResource {
	var out []apiResource
	prefix := e.cfg.BaseURL + inst.BasePath
	for fi, family := range CurrentFamilies {
		res := apiResource{
			ApiResourceID:  endpointID(baseID, 100+fi),
			ApiVersion:     json.RawMessage(`"1.0.1"`),
			ApiFamilyType:  family,
			FamilyComplete: true,
		}
		for pi, product := range Products {
			if CurrentFamily(product) != family {
				continue
			}
			if !inst.Serves(product) {
				res.FamilyComplete = false
				continue
			}
			res.ApiDiscoveryEndpoints = append(res.ApiDiscoveryEndpoints, apiEndpoint{
				ApiDiscoveryID: endpointID(baseID, 200+pi),
				ApiEndpoint:    prefix + "/open-banking/" + family + "/v1/" + product,
			})
		}
		if len(res.ApiDiscoveryEndpoints) > 0 {
			out = append(out, res)
		}
	}
	return out
}

// endpointID derives a stable UUID-shaped id from a base id and an index.
func endpointID(base string, i int) string {
	h1, h2 := hashOf("id", base, i), hashOf("id2", base, i)
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(h1), uint16(h1>>32), uint16(h1>>48)&0xfff, uint16(h2)&0xfff, h2>>16&0xffffffffffff)
}

func semver(raw json.RawMessage) json.RawMessage {
	s := strings.Trim(string(raw), `"`)
	switch strings.Count(s, ".") {
	case 0:
		s += ".0.0"
	case 1:
		s += ".0"
	}
	return json.RawMessage(`"` + s + `"`)
}
