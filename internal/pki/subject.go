package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// Object identifiers of the Open Finance Brasil client-certificate subject
// attributes (security-certificate-standards-1_ID1.md, "Subject DN Pattern").
var (
	OIDCommonName              = asn1.ObjectIdentifier{2, 5, 4, 3}
	OIDSerialNumber            = asn1.ObjectIdentifier{2, 5, 4, 5}
	OIDCountryName             = asn1.ObjectIdentifier{2, 5, 4, 6}
	OIDLocalityName            = asn1.ObjectIdentifier{2, 5, 4, 7}
	OIDStateOrProvinceName     = asn1.ObjectIdentifier{2, 5, 4, 8}
	OIDOrganizationName        = asn1.ObjectIdentifier{2, 5, 4, 10}
	OIDOrganizationalUnitName  = asn1.ObjectIdentifier{2, 5, 4, 11}
	OIDBusinessCategory        = asn1.ObjectIdentifier{2, 5, 4, 15}
	OIDOrganizationIdentifier  = asn1.ObjectIdentifier{2, 5, 4, 97}
	OIDUID                     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	OIDJurisdictionCountryName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
)

// OrgIdentifierPrefix prefixes the participant code (org_id) in the
// organizationIdentifier attribute of a client certificate.
const OrgIdentifierPrefix = "OFBBR-"

// ErrInvalidClientSubject means a presented client certificate does not carry
// usable Open Finance Brasil subject attributes. Callers reject the request
// (invalid_client / 401 for token and DCR endpoints); retrying with the same
// certificate cannot succeed.
var ErrInvalidClientSubject = errors.New("pki: client certificate subject is not an Open Finance Brasil subject")

// ClientSubject reads the software_id (UID attribute) and the org_id
// (organizationIdentifier "OFBBR-<org_id>") from a presented client
// certificate. It does not verify the certificate chain: call it only on a
// certificate the TLS layer has already verified.
//
// Certificates issued before 2022-09-01 carry the participant code in
// organizationalUnitName instead of organizationIdentifier; during the
// coexistence period the standard asks participants to keep accepting them,
// so a single organizationalUnitName is used when organizationIdentifier is
// absent. Errors wrap ErrInvalidClientSubject.
func ClientSubject(cert *x509.Certificate) (softwareID, orgID string, err error) {
	if cert == nil {
		return "", "", fmt.Errorf("%w: no certificate presented", ErrInvalidClientSubject)
	}
	var uids, orgIdentifiers, units []string
	for _, atv := range cert.Subject.Names {
		value, ok := atv.Value.(string)
		if !ok {
			continue
		}
		switch {
		case atv.Type.Equal(OIDUID):
			uids = append(uids, value)
		case atv.Type.Equal(OIDOrganizationIdentifier):
			orgIdentifiers = append(orgIdentifiers, value)
		case atv.Type.Equal(OIDOrganizationalUnitName):
			units = append(units, value)
		}
	}
	if len(uids) != 1 || strings.TrimSpace(uids[0]) == "" {
		return "", "", fmt.Errorf("%w: want exactly one non-empty UID (software_id), found %d", ErrInvalidClientSubject, len(uids))
	}
	softwareID = uids[0]

	switch {
	case len(orgIdentifiers) > 1:
		return "", "", fmt.Errorf("%w: more than one organizationIdentifier", ErrInvalidClientSubject)
	case len(orgIdentifiers) == 1:
		v := orgIdentifiers[0]
		if !strings.HasPrefix(v, OrgIdentifierPrefix) || len(v) == len(OrgIdentifierPrefix) {
			return "", "", fmt.Errorf("%w: organizationIdentifier %q does not have the form %s<org_id>", ErrInvalidClientSubject, v, OrgIdentifierPrefix)
		}
		orgID = strings.TrimPrefix(v, OrgIdentifierPrefix)
	case len(units) == 1 && strings.TrimSpace(units[0]) != "":
		orgID = units[0]
	default:
		return "", "", fmt.Errorf("%w: no organizationIdentifier (or single legacy organizationalUnitName) with the org_id", ErrInvalidClientSubject)
	}
	return softwareID, orgID, nil
}

// ClientSpec describes a client transport certificate (BRCAC style) to issue.
type ClientSpec struct {
	// Name is the file stem: the files are client-<Name>.crt and .key.
	// Lower-case letters, digits and '-' only.
	Name string
	// SoftwareID goes into UID: the software statement id from the directory.
	SoftwareID string
	// OrgID is the participant code (directory OrganisationId), without the
	// OFBBR- prefix.
	OrgID string
	// CNPJ (14 digits) goes into serialNumber.
	CNPJ string
	// OrganizationName goes into O.
	OrganizationName string
	// CommonName is the FQDN in CN and in the DNS SAN; defaults to
	// <Name>.tpp.localhost.
	CommonName string
	// BusinessCategory defaults to "Private Organization".
	BusinessCategory string
	// State (ST) defaults to "SP"; Locality (L) defaults to "Sao Paulo".
	State    string
	Locality string
}

func (s ClientSpec) withDefaults() ClientSpec {
	if s.CommonName == "" {
		s.CommonName = s.Name + ".tpp.localhost"
	}
	if s.BusinessCategory == "" {
		s.BusinessCategory = "Private Organization"
	}
	if s.State == "" {
		s.State = "SP"
	}
	if s.Locality == "" {
		s.Locality = "Sao Paulo"
	}
	return s
}

func (s ClientSpec) validate() error {
	if !validName(s.Name) {
		return fmt.Errorf("pki: client name %q: use 1-64 lower-case letters, digits or '-'", s.Name)
	}
	if s.SoftwareID == "" || s.OrgID == "" {
		return fmt.Errorf("pki: client %q: SoftwareID and OrgID are required", s.Name)
	}
	if len(s.CNPJ) != 14 || strings.Trim(s.CNPJ, "0123456789") != "" {
		return fmt.Errorf("pki: client %q: CNPJ %q must be 14 digits", s.Name, s.CNPJ)
	}
	if s.OrganizationName == "" {
		return fmt.Errorf("pki: client %q: OrganizationName is required", s.Name)
	}
	return nil
}

func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// clientSubjectDER encodes the subject in the order and string types of the
// "Subject DN Pattern - After January 19, 2023": in ASN.1 sequence order
// businessCategory, jurisdictionC, serialNumber, C, O, ST, L,
// organizationIdentifier, UID, CN (RFC 4514 prints it reversed, CN first).
func clientSubjectDER(s ClientSpec) ([]byte, error) {
	utf8 := func(v string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(v)}
	}
	printable := func(v string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagPrintableString, Bytes: []byte(v)}
	}
	attrs := []pkix.AttributeTypeAndValue{
		{Type: OIDBusinessCategory, Value: utf8(s.BusinessCategory)},
		{Type: OIDJurisdictionCountryName, Value: printable("BR")},
		{Type: OIDSerialNumber, Value: printable(s.CNPJ)},
		{Type: OIDCountryName, Value: printable("BR")},
		{Type: OIDOrganizationName, Value: utf8(s.OrganizationName)},
		{Type: OIDStateOrProvinceName, Value: utf8(s.State)},
		{Type: OIDLocalityName, Value: utf8(s.Locality)},
		{Type: OIDOrganizationIdentifier, Value: utf8(OrgIdentifierPrefix + s.OrgID)},
		{Type: OIDUID, Value: utf8(s.SoftwareID)},
		{Type: OIDCommonName, Value: utf8(s.CommonName)},
	}
	seq := make(pkix.RDNSequence, 0, len(attrs))
	for _, a := range attrs {
		seq = append(seq, pkix.RelativeDistinguishedNameSET{a})
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		return nil, fmt.Errorf("pki: encode client subject: %w", err)
	}
	return der, nil
}
