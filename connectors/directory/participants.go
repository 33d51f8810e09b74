package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Organisation is one participant of the central directory
// (ParticipantObject in directory-participants-1.1.0.yaml). Only the fields
// ofp uses are kept; unknown fields are ignored and JSON nulls decode to zero
// values.
type Organisation struct {
	OrganisationID              string                `json:"OrganisationId"`
	Status                      string                `json:"Status"` // Active | Pending | Withdrawn
	OrganisationName            string                `json:"OrganisationName"`
	LegalEntityName             string                `json:"LegalEntityName"`
	RegisteredName              string                `json:"RegisteredName"`
	RegistrationNumber          string                `json:"RegistrationNumber"` // CNPJ (2021 dumps hold the 8-digit root), may be punctuated
	RegistrationID              string                `json:"RegistrationId"`
	CreatedOn                   string                `json:"CreatedOn"`
	ParentOrganisationReference string                `json:"ParentOrganisationReference"`
	AuthorisationServers        []AuthorisationServer `json:"AuthorisationServers"`
	OrgDomainClaims             []OrgDomainClaim      `json:"OrgDomainClaims"`
	OrgDomainRoleClaims         []OrgDomainRoleClaim  `json:"OrgDomainRoleClaims"`
}

// OrgDomainClaim is an organisation's claim on an authorisation domain.
type OrgDomainClaim struct {
	AuthorisationDomainName string `json:"AuthorisationDomainName"`
	AuthorityName           string `json:"AuthorityName"`
	RegistrationID          string `json:"RegistrationId"`
	Status                  string `json:"Status"` // Active | Inactive
}

// OrgDomainRoleClaim is a regulatory role (DADOS, PAGTO, CONTA, CCORR) an
// organisation holds.
type OrgDomainRoleClaim struct {
	Role                string `json:"Role"`
	Status              string `json:"Status"` // Active | Inactive
	AuthorisationDomain string `json:"AuthorisationDomain"`
	RegistrationID      string `json:"RegistrationId"`
}

// AuthorisationServer is one brand of an organisation and the APIs it serves.
type AuthorisationServer struct {
	AuthorisationServerID             string        `json:"AuthorisationServerId"`
	CustomerFriendlyName              string        `json:"CustomerFriendlyName"` // the brand
	CustomerFriendlyDescription       string        `json:"CustomerFriendlyDescription"`
	OpenIDDiscoveryDocument           string        `json:"OpenIDDiscoveryDocument"`
	Issuer                            string        `json:"Issuer"`
	PayloadSigningCertLocationURI     string        `json:"PayloadSigningCertLocationUri"`
	ParentAuthorisationServerID       string        `json:"ParentAuthorisationServerId"`
	DeprecatedDate                    string        `json:"DeprecatedDate"`
	RetirementDate                    string        `json:"RetirementDate"`
	SupersededByAuthorisationServerID string        `json:"SupersededByAuthorisationServerId"`
	APIResources                      []APIResource `json:"ApiResources"`
}

// APIResource is one API family served by an authorisation server.
type APIResource struct {
	APIResourceID         string                 `json:"ApiResourceId"`
	APIFamilyType         string                 `json:"ApiFamilyType"`
	APIVersion            Version                `json:"ApiVersion"`
	FamilyComplete        bool                   `json:"FamilyComplete"`
	CertificationStatus   string                 `json:"CertificationStatus"`
	APIDiscoveryEndpoints []APIDiscoveryEndpoint `json:"ApiDiscoveryEndpoints"`
}

// APIDiscoveryEndpoint is one published URL: a base URL in 2021-style
// records, one (possibly templated) endpoint URL in current records.
type APIDiscoveryEndpoint struct {
	APIDiscoveryID string `json:"ApiDiscoveryId"`
	APIEndpoint    string `json:"ApiEndpoint"`
}

// Version is an ApiVersion as the directory declares it. Old dumps use JSON
// numbers (1), current ones strings ("2.0.1"); both decode to their text
// ("1", "2.0.1"). null decodes to "".
type Version string

// UnmarshalJSON accepts a JSON string, number or null.
func (v *Version) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*v = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("ApiVersion: %w", err)
		}
		*v = Version(strings.TrimSpace(s))
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("ApiVersion: %w", err)
		}
		*v = Version(n.String())
		return nil
	default:
		return fmt.Errorf("ApiVersion: want a string or a number, got %.20s", b)
	}
}

// RecordError says why one element of the participants array was dropped.
type RecordError struct {
	Index          int    // position in the array
	OrganisationID string // best effort; empty when unreadable
	Err            error
}

func (e RecordError) Error() string {
	return fmt.Sprintf("participants[%d] (OrganisationId %q): %v", e.Index, e.OrganisationID, e.Err)
}

func (e RecordError) Unwrap() error { return e.Err }

// ErrNotParticipantsList means the document is not a JSON array; the URL
// probably does not point at a directory participants endpoint.
var ErrNotParticipantsList = errors.New("directory: participants document is not a JSON array")

// ParseParticipants decodes a participants document. The document must be a
// JSON array; each element is decoded on its own, so one malformed record
// (e.g. a field of the wrong type) drops only that record, which is returned
// in rejected. A null element is skipped silently.
func ParseParticipants(data []byte) (orgs []Organisation, rejected []RecordError, err error) {
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, nil, ErrNotParticipantsList
		}
		return nil, nil, fmt.Errorf("directory: participants document is not valid JSON: %w", err)
	}
	orgs = make([]Organisation, 0, len(raw))
	for i, r := range raw {
		if bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
			continue
		}
		var o Organisation
		if err := json.Unmarshal(r, &o); err != nil {
			var id struct {
				OrganisationID any `json:"OrganisationId"`
			}
			_ = json.Unmarshal(r, &id)
			s, _ := id.OrganisationID.(string)
			rejected = append(rejected, RecordError{Index: i, OrganisationID: s, Err: err})
			continue
		}
		orgs = append(orgs, o)
	}
	return orgs, rejected, nil
}
