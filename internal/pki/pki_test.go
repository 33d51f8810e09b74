package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

// shared is generated once: RSA key generation is the slow part.
var shared *Bundle

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pki-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = Generate(dir, DefaultOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestGenerateWritesVerifiableChainWithPrivateKeyFiles(t *testing.T) {
	b := shared
	info, err := os.Stat(b.Dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	for _, name := range []string{RootKeyFile, IntermediateKeyFile, ServerKeyFile, DirectoryKeyFile, "client-demo-tpp.key"} {
		info, err := os.Stat(filepath.Join(b.Dir, name))
		require.NoError(t, err, name)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), name)
	}
	require.Equal(t, []string{"demo-tpp"}, b.ClientNames())

	inters := x509.NewCertPool()
	inters.AddCert(b.Intermediate)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		_, err = b.Server.Verify(x509.VerifyOptions{DNSName: host, Roots: b.RootPool(), Intermediates: inters})
		require.NoError(t, err, host)
	}
	client, err := b.ClientCertificate("demo-tpp")
	require.NoError(t, err)
	_, err = client.Leaf.Verify(x509.VerifyOptions{Roots: b.RootPool(), Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
	require.Equal(t, KeyBits, client.Leaf.PublicKey.(*rsa.PublicKey).N.BitLen())
	require.NoError(t, b.Directory.CheckSignatureFrom(b.Intermediate))
	require.True(t, b.DirectorySigningKey().PublicKey.Equal(b.Directory.PublicKey))

	_, err = b.ClientCertificate("nobody")
	require.ErrorContains(t, err, "Options.Clients")
}

func TestGenerateReusesFilesAndReissuesOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	first, err := Generate(dir, Options{})
	require.NoError(t, err)

	again, err := Generate(dir, Options{})
	require.NoError(t, err)
	require.Equal(t, first.Root.Raw, again.Root.Raw)
	require.Equal(t, first.Server.Raw, again.Server.Raw)
	require.Equal(t, first.Directory.Raw, again.Directory.Raw)

	extra := ClientSpec{Name: "tpp2", SoftwareID: "sw-2", OrgID: "org-2", CNPJ: "11222333000181", OrganizationName: "TPP Dois"}
	grown, err := Generate(dir, Options{ServerNames: []string{"auth.ofp.local", "10.0.0.7"}, Clients: []ClientSpec{extra}})
	require.NoError(t, err)
	require.Equal(t, first.Root.Raw, grown.Root.Raw)
	require.Equal(t, first.Intermediate.Raw, grown.Intermediate.Raw)
	require.Equal(t, first.Directory.Raw, grown.Directory.Raw)
	require.NotEqual(t, first.Server.Raw, grown.Server.Raw, "new server names force a new server certificate")
	require.Contains(t, grown.Server.DNSNames, "auth.ofp.local")
	require.Equal(t, []string{"tpp2"}, grown.ClientNames())

	loaded, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, grown.Server.Raw, loaded.Server.Raw)
	require.Equal(t, grown.ClientCertPaths, loaded.ClientCertPaths)

	// Losing the root reissues the whole chain.
	require.NoError(t, os.Remove(filepath.Join(dir, RootKeyFile)))
	rebuilt, err := Generate(dir, Options{Clients: []ClientSpec{extra}})
	require.NoError(t, err)
	require.NotEqual(t, first.Root.Raw, rebuilt.Root.Raw)
	require.NoError(t, rebuilt.Server.CheckSignatureFrom(rebuilt.Intermediate))
	c, err := rebuilt.ClientCertificate("tpp2")
	require.NoError(t, err)
	require.NoError(t, c.Leaf.CheckSignatureFrom(rebuilt.Intermediate))
}

func TestGenerateRejectsBadClientSpecAndLoadNeedsFiles(t *testing.T) {
	_, err := Generate(t.TempDir(), Options{Clients: []ClientSpec{{Name: "../x", SoftwareID: "s", OrgID: "o", CNPJ: "11222333000181", OrganizationName: "O"}}})
	require.ErrorContains(t, err, "client name")
	_, err = Generate(t.TempDir(), Options{Clients: []ClientSpec{{Name: "x", SoftwareID: "s", OrgID: "o", CNPJ: "123", OrganizationName: "O"}}})
	require.ErrorContains(t, err, "CNPJ")
	_, err = Load(t.TempDir())
	require.ErrorContains(t, err, "run pki.Generate")
}

func TestBundleStringHasNoKeyMaterial(t *testing.T) {
	d := shared.DirectorySigningKey().D.String()
	for _, s := range []string{fmt.Sprint(shared), fmt.Sprintf("%+v", shared), fmt.Sprintf("%#v", shared)} {
		require.NotContains(t, s, d[:20])
		require.Contains(t, s, "demo-tpp")
	}
}

func TestClientSubjectReadsSoftwareAndOrgID(t *testing.T) {
	c, err := shared.ClientCertificate("demo-tpp")
	require.NoError(t, err)
	sw, org, err := ClientSubject(c.Leaf)
	require.NoError(t, err)
	require.Equal(t, DemoClient.SoftwareID, sw)
	require.Equal(t, DemoClient.OrgID, org)
}

// The subject follows the standard's attribute order and ASN.1 string types.
func TestClientSubjectEncodingMatchesStandard(t *testing.T) {
	c, err := shared.ClientCertificate("demo-tpp")
	require.NoError(t, err)
	type atv struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	var seq []asn1.RawValue
	rest, err := asn1.Unmarshal(c.Leaf.RawSubject, &seq)
	require.NoError(t, err)
	require.Empty(t, rest)
	var rdns []atv
	for _, raw := range seq {
		var set []atv
		_, err := asn1.UnmarshalWithParams(raw.FullBytes, &set, "set")
		require.NoError(t, err)
		require.Len(t, set, 1, "one attribute per RDN")
		rdns = append(rdns, set[0])
	}
	want := []struct {
		oid asn1.ObjectIdentifier
		tag int
		val string
	}{
		{OIDBusinessCategory, asn1.TagUTF8String, "Private Organization"},
		{OIDJurisdictionCountryName, asn1.TagPrintableString, "BR"},
		{OIDSerialNumber, asn1.TagPrintableString, DemoClient.CNPJ},
		{OIDCountryName, asn1.TagPrintableString, "BR"},
		{OIDOrganizationName, asn1.TagUTF8String, DemoClient.OrganizationName},
		{OIDStateOrProvinceName, asn1.TagUTF8String, "SP"},
		{OIDLocalityName, asn1.TagUTF8String, "Sao Paulo"},
		{OIDOrganizationIdentifier, asn1.TagUTF8String, "OFBBR-" + DemoClient.OrgID},
		{OIDUID, asn1.TagUTF8String, DemoClient.SoftwareID},
		{OIDCommonName, asn1.TagUTF8String, "demo-tpp.tpp.localhost"},
	}
	require.Len(t, rdns, len(want))
	for i, w := range want {
		require.True(t, w.oid.Equal(rdns[i].Type), "position %d: %v", i, rdns[i].Type)
		require.Equal(t, w.tag, rdns[i].Value.Tag, w.oid.String())
		require.Equal(t, w.val, string(rdns[i].Value.Bytes))
	}
}

func TestClientSubjectRejectsIncompleteSubjects(t *testing.T) {
	key := shared.DirectorySigningKey() // any RSA key will do for self-signed fixtures
	mk := func(names ...pkix.AttributeTypeAndValue) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{ExtraNames: names},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		require.NoError(t, err)
		c, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		return c
	}
	uid := pkix.AttributeTypeAndValue{Type: OIDUID, Value: "sw-1"}
	cases := map[string]*x509.Certificate{
		"nil":                 nil,
		"no UID":              mk(pkix.AttributeTypeAndValue{Type: OIDOrganizationIdentifier, Value: "OFBBR-org"}),
		"two UIDs":            mk(uid, pkix.AttributeTypeAndValue{Type: OIDUID, Value: "sw-2"}, pkix.AttributeTypeAndValue{Type: OIDOrganizationIdentifier, Value: "OFBBR-org"}),
		"no org":              mk(uid),
		"org without prefix":  mk(uid, pkix.AttributeTypeAndValue{Type: OIDOrganizationIdentifier, Value: "org"}),
		"prefix only":         mk(uid, pkix.AttributeTypeAndValue{Type: OIDOrganizationIdentifier, Value: "OFBBR-"}),
		"two legacy OU":       mk(uid, pkix.AttributeTypeAndValue{Type: OIDOrganizationalUnitName, Value: "a"}, pkix.AttributeTypeAndValue{Type: OIDOrganizationalUnitName, Value: "b"}),
		"two org identifiers": mk(uid, pkix.AttributeTypeAndValue{Type: OIDOrganizationIdentifier, Value: "OFBBR-a"}, pkix.AttributeTypeAndValue{Type: OIDOrganizationIdentifier, Value: "OFBBR-b"}),
	}
	for name, c := range cases {
		_, _, err := ClientSubject(c)
		require.ErrorIs(t, err, ErrInvalidClientSubject, name)
	}

	// Pre-September-2022 certificates carry the org id in OU.
	sw, org, err := ClientSubject(mk(uid, pkix.AttributeTypeAndValue{Type: OIDOrganizationalUnitName, Value: "legacy-org"}))
	require.NoError(t, err)
	require.Equal(t, "sw-1", sw)
	require.Equal(t, "legacy-org", org)
}

func FuzzClientSubject(f *testing.F) {
	c, err := shared.ClientCertificate("demo-tpp")
	require.NoError(f, err)
	f.Add(c.Leaf.Raw)
	f.Add(shared.Server.Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		sw, org, err := ClientSubject(cert)
		if err == nil {
			require.NotEmpty(t, sw)
			require.NotEmpty(t, org)
		}
	})
}

// lockedBuffer collects the test server's error log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Take returns the log so far and clears it.
func (b *lockedBuffer) Take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// mtlsServer answers with the client's software_id/org_id and cipher suite;
// its handshake errors go to the returned buffer.
func mtlsServer(t *testing.T) (*httptest.Server, *lockedBuffer) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, org, err := ClientSubject(r.TLS.PeerCertificates[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s %s %s", sw, org, tls.CipherSuiteName(r.TLS.CipherSuite))
	}))
	cfg, err := TLSServerConfig(shared, nil, tls.RequireAndVerifyClientCert)
	require.NoError(t, err)
	srv.TLS = cfg
	logs := &lockedBuffer{}
	srv.Config.ErrorLog = log.New(logs, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, logs
}

func get(url string, cfg *tls.Config) (string, error) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return string(body), nil
}

func TestMTLSHandshakeAcceptsGeneratedClientCertificate(t *testing.T) {
	srv, _ := mtlsServer(t)
	cfg, err := TLSClientConfig(shared, "demo-tpp")
	require.NoError(t, err)
	body, err := get(srv.URL, cfg)
	require.NoError(t, err)
	require.Equal(t, DemoClient.SoftwareID+" "+DemoClient.OrgID+" TLS_AES_128_GCM_SHA256", body)

	// Forced TLS 1.2 negotiates a FAPI suite.
	cfg.MaxVersion = tls.VersionTLS12
	body, err = get(srv.URL, cfg)
	require.NoError(t, err)
	require.Contains(t, body, "TLS_ECDHE_RSA_WITH_AES_")

	// A certificate issued on the fly from the same intermediate works too.
	issued, err := shared.IssueClient(ClientSpec{Name: "adhoc", SoftwareID: "sw-adhoc", OrgID: "org-adhoc", CNPJ: "11222333000181", OrganizationName: "Ad Hoc"}, time.Hour)
	require.NoError(t, err)
	cfg, err = TLSClientConfig(shared, "")
	require.NoError(t, err)
	cfg.Certificates = []tls.Certificate{issued}
	body, err = get(srv.URL, cfg)
	require.NoError(t, err)
	require.Contains(t, body, "sw-adhoc org-adhoc")
}

func TestMTLSHandshakeRefusesForeignOrMissingClientCertificate(t *testing.T) {
	srv, logs := mtlsServer(t)

	// A self-signed certificate with a perfect Open Finance subject.
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	require.NoError(t, err)
	subject, err := clientSubjectDER(DemoClient.withDefaults())
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), RawSubject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)

	// GetClientCertificate, unlike Certificates, sends the certificate even
	// though its issuer is not among the server's acceptable CAs.
	foreign := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	for _, tc := range []struct {
		cert   *tls.Certificate
		reason string
	}{
		{foreign, "certificate signed by unknown authority"},
		{&tls.Certificate{}, "client didn't provide a certificate"},
	} {
		for _, maxVersion := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			cfg, err := TLSClientConfig(shared, "")
			require.NoError(t, err)
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return tc.cert, nil }
			cfg.MaxVersion = maxVersion
			_, err = get(srv.URL, cfg)
			require.Error(t, err, "%s with TLS %x", tc.reason, maxVersion)
			require.Eventually(t, func() bool { return strings.Contains(logs.Take(), tc.reason) }, 5*time.Second, 10*time.Millisecond)
		}
	}
}

func TestServerRefusesOldTLSAndNonFAPISuites(t *testing.T) {
	srv, logs := mtlsServer(t)

	old, err := TLSClientConfig(shared, "demo-tpp")
	require.NoError(t, err)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	old.CipherSuites = nil
	_, err = get(srv.URL, old)
	require.ErrorContains(t, err, "protocol version")
	require.Eventually(t, func() bool { return strings.Contains(logs.Take(), "unsupported versions") }, 5*time.Second, 10*time.Millisecond)

	chacha, err := TLSClientConfig(shared, "demo-tpp")
	require.NoError(t, err)
	chacha.MaxVersion = tls.VersionTLS12
	chacha.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}
	_, err = get(srv.URL, chacha)
	require.ErrorContains(t, err, "handshake failure")
	require.Eventually(t, func() bool { return strings.Contains(logs.Take(), "no cipher suite supported") }, 5*time.Second, 10*time.Millisecond)
}

func TestTLSServerConfigRefusesUnverifiedClientAuth(t *testing.T) {
	_, err := TLSServerConfig(shared, nil, tls.RequireAnyClientCert)
	require.Error(t, err)
	cfg, err := TLSServerConfig(shared, nil, tls.VerifyClientCertIfGiven)
	require.NoError(t, err)
	require.True(t, cfg.SessionTicketsDisabled)
	require.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
}

func TestDirectorySignerVerifiesAgainstDirectoryJWKS(t *testing.T) {
	signer, err := shared.DirectorySigner()
	require.NoError(t, err)
	jws, err := signer.Sign([]byte(`{"software_id":"` + DemoClient.SoftwareID + `"}`))
	require.NoError(t, err)
	ssa, err := jws.CompactSerialize()
	require.NoError(t, err)

	data, err := shared.DirectoryJWKS()
	require.NoError(t, err)
	require.NotContains(t, string(data), `"d":`)
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(data, &set))
	require.Len(t, set.Keys, 1)
	require.Equal(t, "sig", set.Keys[0].Use)
	require.Equal(t, "PS256", set.Keys[0].Algorithm)
	require.Len(t, set.Keys[0].Certificates, 2)

	parsed, err := jose.ParseSignedCompact(ssa, []jose.SignatureAlgorithm{jose.PS256})
	require.NoError(t, err)
	keys := set.Key(parsed.Signatures[0].Header.KeyID)
	require.Len(t, keys, 1)
	payload, err := parsed.Verify(keys[0].Key)
	require.NoError(t, err)
	require.Contains(t, string(payload), DemoClient.SoftwareID)
}
