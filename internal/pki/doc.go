// Package pki generates and loads an ICP-Brasil-style test PKI for demo
// mode and tests, and holds the small certificate helpers the FAPI-BR
// authorization server needs.
//
// It owns:
//   - a root CA and an intermediate CA (RSA 2048), written as PEM files;
//   - server certificates (SANs localhost, 127.0.0.1, ::1 plus configured names);
//   - client transport certificates shaped like BRCAC certificates, whose
//     subject carries the Open Finance Brasil attributes in the order and
//     ASN.1 string types of security-certificate-standards-1_ID1.md
//     (CN, UID = software_id, organizationIdentifier = OFBBR-<org_id>, L, ST,
//     O, C, serialNumber = CNPJ, jurisdictionCountryName, businessCategory);
//   - a directory signing key and certificate, standing in for the directory
//     keystore that signs software statements (SSAs): DirectorySigner signs
//     PS256, DirectoryJWKS is the public set DCR verifies against;
//   - ClientSubject, which reads software_id and org_id back from a presented
//     certificate (DCR and mTLS checks use it);
//   - TLSServerConfig, the FAPI-BR TLS settings for servers.
//
// It never talks to a real ICP-Brasil CA or to the directory, never decides
// whether a client is registered (that is authz/dcr's job), and is not meant
// for production key material: keys are plain PEM files protected only by
// file permissions (0600, directory 0700).
package pki
