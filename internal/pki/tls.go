package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// FAPICipherSuites are the TLS 1.2 suites FAPI-BR allows that Go implements.
// FAPI 1 Advanced also lists TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 and
// TLS_DHE_RSA_WITH_AES_256_GCM_SHA384; crypto/tls has no DHE key exchange,
// so they cannot be offered. TLS 1.3 suites are not configurable in Go and
// are all AEAD, which FAPI accepts.
var FAPICipherSuites = []uint16{
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
}

// TLSServerConfig is the FAPI-BR server configuration: TLS 1.2 minimum, only
// FAPICipherSuites under TLS 1.2, session tickets off (FAPI-BR disables
// session resumption; Go servers never renegotiate), the bundle's server
// certificate, and client certificates checked against clientCAs according
// to auth. Use tls.RequireAndVerifyClientCert on mTLS-only listeners and
// tls.VerifyClientCertIfGiven where one listener serves both mTLS and plain
// endpoints (the handler then checks r.TLS.PeerCertificates). A nil
// clientCAs means the bundle's root CA.
func TLSServerConfig(b *Bundle, clientCAs *x509.CertPool, auth tls.ClientAuthType) (*tls.Config, error) {
	if b == nil || b.Server == nil {
		return nil, fmt.Errorf("pki: TLSServerConfig needs a loaded bundle: call pki.Generate or pki.Load")
	}
	if clientCAs == nil {
		clientCAs = b.RootPool()
	}
	return ServerTLS(b.ServerCertificate(), clientCAs, auth)
}

// ServerTLS is TLSServerConfig for a certificate that does not come from a
// test bundle (production: the institution's server certificate and the
// ICP-Brasil chain trusted for clients).
func ServerTLS(cert tls.Certificate, clientCAs *x509.CertPool, auth tls.ClientAuthType) (*tls.Config, error) {
	if clientCAs == nil {
		return nil, fmt.Errorf("pki: a pool of CAs trusted for client certificates is required")
	}
	switch auth {
	case tls.NoClientCert, tls.RequestClientCert, tls.RequireAnyClientCert:
		return nil, fmt.Errorf("pki: client auth %v does not verify certificates: use VerifyClientCertIfGiven or RequireAndVerifyClientCert", auth)
	}
	return &tls.Config{
		MinVersion:             tls.VersionTLS12,
		CipherSuites:           append([]uint16(nil), FAPICipherSuites...),
		Certificates:           []tls.Certificate{cert},
		ClientCAs:              clientCAs,
		ClientAuth:             auth,
		SessionTicketsDisabled: true,
		Renegotiation:          tls.RenegotiateNever,
	}, nil
}

// TLSClientConfig trusts the bundle's root CA and, when clientName is not
// empty, presents that client certificate. It uses the same version and
// suite limits as TLSServerConfig.
func TLSClientConfig(b *Bundle, clientName string) (*tls.Config, error) {
	if b == nil || b.Root == nil {
		return nil, fmt.Errorf("pki: TLSClientConfig needs a loaded bundle: call pki.Generate or pki.Load")
	}
	cfg := &tls.Config{
		MinVersion:    tls.VersionTLS12,
		CipherSuites:  append([]uint16(nil), FAPICipherSuites...),
		RootCAs:       b.RootPool(),
		Renegotiation: tls.RenegotiateNever,
	}
	if clientName != "" {
		cert, err := b.ClientCertificate(clientName)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
