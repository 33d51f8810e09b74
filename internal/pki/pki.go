package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Names of the files Generate writes into its directory. Client certificates
// are client-<name>.crt and client-<name>.key.
const (
	RootCertFile         = "root-ca.crt"
	RootKeyFile          = "root-ca.key"
	IntermediateCertFile = "intermediate-ca.crt"
	IntermediateKeyFile  = "intermediate-ca.key"
	ServerCertFile       = "server.crt"
	ServerKeyFile        = "server.key"
	DirectoryCertFile    = "directory-signing.crt"
	DirectoryKeyFile     = "directory-signing.key"
	clientFilePrefix     = "client-"
)

// KeyBits is the RSA modulus size of every generated key (ICP-Brasil
// certificates for Open Finance Brasil are RSA 2048).
const KeyBits = 2048

// renewBefore is how close to expiry a reused certificate may be.
const renewBefore = 24 * time.Hour

// Options configures Generate.
type Options struct {
	// ServerNames are extra DNS names or IP addresses for the server
	// certificate; localhost, 127.0.0.1 and ::1 are always included.
	ServerNames []string
	// Clients are the client transport certificates to issue.
	Clients []ClientSpec
	// Validity of leaf certificates; default one year. CAs get ten times it.
	Validity time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// DemoClient is the client certificate DefaultOptions issues: a TPP with a
// fixed software_id and org_id, used by demo mode and tests.
var DemoClient = ClientSpec{
	Name:             "demo-tpp",
	SoftwareID:       "bc97b8f0-cae0-4f2f-9978-d93f0e56a833",
	OrgID:            "d7384bd0-842f-43c5-be02-9d2b2d5efc2c",
	CNPJ:             "43142666000197",
	OrganizationName: "OFP Demo TPP",
}

// DefaultOptions issues the demo client certificate and a one-year server
// certificate for localhost.
func DefaultOptions() Options {
	return Options{Clients: []ClientSpec{DemoClient}, Validity: 365 * 24 * time.Hour}
}

func (o Options) withDefaults() Options {
	if o.Validity <= 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// pair is one certificate with its key and file paths.
type pair struct {
	cert     *x509.Certificate
	key      *rsa.PrivateKey
	certPath string
	keyPath  string
}

// Bundle is a loaded test PKI. Exported fields are public material and file
// paths; private keys are reachable only through methods and never printed.
type Bundle struct {
	Dir string

	RootCertPath         string
	IntermediateCertPath string
	ServerCertPath       string
	ServerKeyPath        string
	DirectoryCertPath    string
	DirectoryKeyPath     string
	// ClientCertPaths and ClientKeyPaths are keyed by client name.
	ClientCertPaths map[string]string
	ClientKeyPaths  map[string]string

	Root         *x509.Certificate
	Intermediate *x509.Certificate
	Server       *x509.Certificate
	Directory    *x509.Certificate

	intermediateKey *rsa.PrivateKey
	serverKey       *rsa.PrivateKey
	directoryKey    *rsa.PrivateKey
	clients         map[string]pair
	now             func() time.Time
}

// String names the bundle without any key material.
func (b *Bundle) String() string {
	return fmt.Sprintf("pki.Bundle{dir: %q, clients: %v}", b.Dir, b.ClientNames())
}

// GoString keeps %#v from dumping private keys.
func (b *Bundle) GoString() string { return b.String() }

// ClientNames lists the issued client certificates, sorted.
func (b *Bundle) ClientNames() []string {
	names := make([]string, 0, len(b.clients))
	for n := range b.clients {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RootPool is a pool with the root CA: use it as ClientCAs on servers and as
// RootCAs on clients.
func (b *Bundle) RootPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(b.Root)
	return p
}

// ServerCertificate is the server leaf with the intermediate in its chain.
func (b *Bundle) ServerCertificate() tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{b.Server.Raw, b.Intermediate.Raw},
		PrivateKey:  b.serverKey,
		Leaf:        b.Server,
	}
}

// ClientCertificate is the named client leaf with the intermediate in its
// chain, ready for tls.Config.Certificates.
func (b *Bundle) ClientCertificate(name string) (tls.Certificate, error) {
	p, ok := b.clients[name]
	if !ok {
		return tls.Certificate{}, fmt.Errorf("pki: no client certificate %q in %s (have %v): add it to Options.Clients and call Generate", name, b.Dir, b.ClientNames())
	}
	return tls.Certificate{
		Certificate: [][]byte{p.cert.Raw, b.Intermediate.Raw},
		PrivateKey:  p.key,
		Leaf:        p.cert,
	}, nil
}

// IssueClient issues a client certificate from the intermediate CA in
// memory, without writing files: for tests that need many software ids.
func (b *Bundle) IssueClient(spec ClientSpec, validity time.Duration) (tls.Certificate, error) {
	if validity <= 0 {
		validity = 365 * 24 * time.Hour
	}
	p, err := newClient(spec, b.Intermediate, b.intermediateKey, b.now(), validity)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{
		Certificate: [][]byte{p.cert.Raw, b.Intermediate.Raw},
		PrivateKey:  p.key,
		Leaf:        p.cert,
	}, nil
}

// DirectorySigningKey is the key that signs software statements in demo
// mode (PS256). Its certificate is Bundle.Directory.
func (b *Bundle) DirectorySigningKey() *rsa.PrivateKey { return b.directoryKey }

// Generate creates the test PKI in dir (created 0700 if missing) and returns
// it loaded. It is idempotent: existing files are reused when they still fit
// the options (chain intact, not expiring within a day, server names covered,
// client subject unchanged); anything else is reissued, and a reissued CA
// forces its children to be reissued. Keys are written 0600, certificates
// 0644. A file that exists but cannot be parsed is an error: delete dir to
// start over.
func Generate(dir string, opts Options) (*Bundle, error) {
	opts = opts.withDefaults()
	for _, c := range opts.Clients {
		if err := c.validate(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: create %s: %w", dir, err)
	}
	now := opts.Now()
	caValidity := 10 * opts.Validity

	root, fresh, err := ensure(dir, RootCertFile, RootKeyFile, false, now,
		func(c *x509.Certificate) bool { return c.IsCA && c.CheckSignatureFrom(c) == nil },
		func() (pair, error) { return newCA("OFP Test Root CA", nil, nil, now, caValidity) })
	if err != nil {
		return nil, err
	}
	inter, interFresh, err := ensure(dir, IntermediateCertFile, IntermediateKeyFile, fresh, now,
		func(c *x509.Certificate) bool { return c.IsCA && c.CheckSignatureFrom(root.cert) == nil },
		func() (pair, error) { return newCA("OFP Test Intermediate CA", root.cert, root.key, now, caValidity/2) })
	if err != nil {
		return nil, err
	}
	signedByInter := func(c *x509.Certificate) bool { return c.CheckSignatureFrom(inter.cert) == nil }

	names := serverNames(opts.ServerNames)
	_, _, err = ensure(dir, ServerCertFile, ServerKeyFile, interFresh, now,
		func(c *x509.Certificate) bool { return signedByInter(c) && coversNames(c, names) },
		func() (pair, error) { return newServer(names, inter.cert, inter.key, now, opts.Validity) })
	if err != nil {
		return nil, err
	}
	_, _, err = ensure(dir, DirectoryCertFile, DirectoryKeyFile, interFresh, now, signedByInter,
		func() (pair, error) { return newDirectorySigner(inter.cert, inter.key, now, opts.Validity) })
	if err != nil {
		return nil, err
	}
	for _, spec := range opts.Clients {
		spec = spec.withDefaults()
		want, err := clientSubjectDER(spec)
		if err != nil {
			return nil, err
		}
		_, _, err = ensure(dir, clientFilePrefix+spec.Name+".crt", clientFilePrefix+spec.Name+".key", interFresh, now,
			func(c *x509.Certificate) bool { return signedByInter(c) && bytes.Equal(c.RawSubject, want) },
			func() (pair, error) { return newClient(spec, inter.cert, inter.key, now, opts.Validity) })
		if err != nil {
			return nil, err
		}
	}
	b, err := Load(dir)
	if err != nil {
		return nil, err
	}
	b.now = opts.Now
	return b, nil
}

// Load reads a PKI that Generate wrote. It does not create anything: a
// missing file is an error telling the caller to run Generate.
func Load(dir string) (*Bundle, error) {
	b := &Bundle{
		Dir:                  dir,
		RootCertPath:         filepath.Join(dir, RootCertFile),
		IntermediateCertPath: filepath.Join(dir, IntermediateCertFile),
		ServerCertPath:       filepath.Join(dir, ServerCertFile),
		ServerKeyPath:        filepath.Join(dir, ServerKeyFile),
		DirectoryCertPath:    filepath.Join(dir, DirectoryCertFile),
		DirectoryKeyPath:     filepath.Join(dir, DirectoryKeyFile),
		ClientCertPaths:      map[string]string{},
		ClientKeyPaths:       map[string]string{},
		clients:              map[string]pair{},
		now:                  time.Now,
	}
	var err error
	if b.Root, err = readCert(b.RootCertPath); err != nil {
		return nil, err
	}
	inter, err := loadPair(dir, IntermediateCertFile, IntermediateKeyFile)
	if err != nil {
		return nil, err
	}
	b.Intermediate, b.intermediateKey = inter.cert, inter.key
	server, err := loadPair(dir, ServerCertFile, ServerKeyFile)
	if err != nil {
		return nil, err
	}
	b.Server, b.serverKey = server.cert, server.key
	directory, err := loadPair(dir, DirectoryCertFile, DirectoryKeyFile)
	if err != nil {
		return nil, err
	}
	b.Directory, b.directoryKey = directory.cert, directory.key

	matches, err := filepath.Glob(filepath.Join(dir, clientFilePrefix+"*.crt"))
	if err != nil {
		return nil, fmt.Errorf("pki: list client certificates in %s: %w", dir, err)
	}
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), clientFilePrefix), ".crt")
		p, err := loadPair(dir, filepath.Base(m), clientFilePrefix+name+".key")
		if err != nil {
			return nil, err
		}
		b.clients[name] = p
		b.ClientCertPaths[name] = p.certPath
		b.ClientKeyPaths[name] = p.keyPath
	}
	return b, nil
}

// ensure reuses certFile/keyFile in dir when both exist, force is false, the
// certificate is valid at now (and for renewBefore more) and ok accepts it;
// otherwise it calls create and writes the result. fresh reports a new pair.
func ensure(dir, certFile, keyFile string, force bool, now time.Time, ok func(*x509.Certificate) bool, create func() (pair, error)) (p pair, fresh bool, err error) {
	if !force {
		p, err = loadPair(dir, certFile, keyFile)
		switch {
		case err == nil:
			if ok(p.cert) && !now.Before(p.cert.NotBefore) && now.Add(renewBefore).Before(p.cert.NotAfter) {
				return p, false, nil
			}
		case errors.Is(err, os.ErrNotExist):
		default:
			return pair{}, false, err
		}
	}
	p, err = create()
	if err != nil {
		return pair{}, false, err
	}
	p.certPath, p.keyPath = filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	if err := writePEM(p.keyPath, "PRIVATE KEY", mustPKCS8(p.key), 0o600); err != nil {
		return pair{}, false, err
	}
	if err := writePEM(p.certPath, "CERTIFICATE", p.cert.Raw, 0o644); err != nil {
		return pair{}, false, err
	}
	return p, true, nil
}

func loadPair(dir, certFile, keyFile string) (pair, error) {
	p := pair{certPath: filepath.Join(dir, certFile), keyPath: filepath.Join(dir, keyFile)}
	var err error
	if p.cert, err = readCert(p.certPath); err != nil {
		return pair{}, err
	}
	if p.key, err = readKey(p.keyPath); err != nil {
		return pair{}, err
	}
	pub, isRSA := p.cert.PublicKey.(*rsa.PublicKey)
	if !isRSA || !pub.Equal(p.key.Public()) {
		return pair{}, fmt.Errorf("pki: %s does not hold the key of %s: delete both and run Generate", p.keyPath, p.certPath)
	}
	return p, nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: read certificate (run pki.Generate first): %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("pki: %s is not a PEM certificate: delete it and run Generate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: parse %s: %w", path, err)
	}
	return cert, nil
}

// readKey never includes file contents in its errors.
func readKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: read key (run pki.Generate first): %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("pki: %s is not a PEM PKCS#8 private key: delete it and run Generate", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: malformed PKCS#8 key", path)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: %s: want an RSA key, got %T", path, k)
	}
	return rk, nil
}

func mustPKCS8(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic("pki: marshal RSA key: " + err.Error()) // cannot happen for a valid *rsa.PrivateKey
	}
	return der
}

// writePEM writes atomically (temp file + rename) with the given mode.
func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: chmod %s: %w", path, err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: blockType, Bytes: der}); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	return nil
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// sign creates a certificate for a new key; parent nil means self-signed.
func sign(tmpl *x509.Certificate, parent *x509.Certificate, parentKey *rsa.PrivateKey) (pair, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return pair{}, fmt.Errorf("pki: generate RSA key: %w", err)
	}
	if tmpl.SerialNumber, err = serialNumber(); err != nil {
		return pair{}, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return pair{}, fmt.Errorf("pki: create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return pair{}, fmt.Errorf("pki: parse new certificate: %w", err)
	}
	return pair{cert: cert, key: key}, nil
}

func newCA(cn string, parent *x509.Certificate, parentKey *rsa.PrivateKey, now time.Time, validity time.Duration) (pair, error) {
	maxPath := 1
	if parent != nil {
		maxPath = 0
	}
	return sign(&x509.Certificate{
		Subject: pkix.Name{
			Country:            []string{"BR"},
			Organization:       []string{"ICP-Brasil"},
			OrganizationalUnit: []string{"OFP test PKI - not for production"},
			CommonName:         cn,
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPath,
		MaxPathLenZero:        maxPath == 0,
	}, parent, parentKey)
}

func serverNames(extra []string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	for _, n := range extra {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

func coversNames(c *x509.Certificate, names []string) bool {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	return true
}

func newServer(names []string, parent *x509.Certificate, parentKey *rsa.PrivateKey, now time.Time, validity time.Duration) (pair, error) {
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			Country:      []string{"BR"},
			Organization: []string{"OFP Test Holder"},
			CommonName:   names[0],
		},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(validity),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return sign(tmpl, parent, parentKey)
}

// newDirectorySigner issues a BRSEAL-like signing certificate
// (digitalSignature, nonRepudiation) for the demo directory.
func newDirectorySigner(parent *x509.Certificate, parentKey *rsa.PrivateKey, now time.Time, validity time.Duration) (pair, error) {
	return sign(&x509.Certificate{
		Subject: pkix.Name{
			Country:      []string{"BR"},
			Organization: []string{"OFP Test Directory"},
			CommonName:   "OFP Test Directory SSA signing",
		},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(validity),
		KeyUsage:  x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}, parent, parentKey)
}

func newClient(spec ClientSpec, parent *x509.Certificate, parentKey *rsa.PrivateKey, now time.Time, validity time.Duration) (pair, error) {
	if err := spec.validate(); err != nil {
		return pair{}, err
	}
	spec = spec.withDefaults()
	subject, err := clientSubjectDER(spec)
	if err != nil {
		return pair{}, err
	}
	return sign(&x509.Certificate{
		RawSubject:  subject,
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(validity),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{spec.CommonName},
	}, parent, parentKey)
}
