package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/ofp-dev/ofp/internal/pki"
	"github.com/ofp-dev/ofp/internal/rbac"
)

// TestServeTakesEveryTrustAnchorFromConfiguration runs `ofp serve` with
// the regulated interface configured only through flags and environment:
// server certificate, client CA, directory keys, jwks_uri trust store,
// organisation, operators and session key. It serves discovery over TLS
// 1.2+ with the configured certificate, requires mTLS where the profile
// does, and refuses to start, saying what to set, when one is missing.
func TestServeTakesEveryTrustAnchorFromConfiguration(t *testing.T) {
	dir := t.TempDir()
	a := newServeAnchors(t, dir)
	b, transport, transportCert, transportKey := a.bundle, a.transport, a.transportCert, a.transportKey
	args := a.args(filepath.Join(dir, "data"))

	// Without the organisation id it refuses, saying what to set.
	var stderr bytes.Buffer
	cmd := ofpCommand(append(args, "--session-key", strings.Repeat("k", 32))...)
	cmd.Stderr = &stderr
	require.Error(t, cmd.Run())
	require.Contains(t, stderr.String(), "--org-id")

	// Without the transport certificate it refuses too: webhooks are mTLS.
	stderr.Reset()
	cmd = ofpCommand(append(args, "--session-key", strings.Repeat("k", 32), "--org-id", transport.OrgID)...)
	cmd.Stderr = &stderr
	require.Error(t, cmd.Run())
	require.Contains(t, stderr.String(), "--transport-cert")

	info, out := startServe(t, filepath.Join(dir, "data"), append(args, "--org-id", transport.OrgID, "--transport-cert", transportCert),
		"OFP_TRANSPORT_KEY="+transportKey, "OFP_SESSION_KEY="+strings.Repeat("z", 40))
	require.NotContains(t, out.String(), strings.Repeat("z", 40), "the session key is never printed")

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: b.RootPool(), MinVersion: tls.VersionTLS12}}}
	for _, brand := range []string{"acme", "acme-pj"} {
		resp, err := client.Get(info.HolderURL + "/" + brand + "/.well-known/openid-configuration")
		require.NoError(t, err)
		var disc map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&disc))
		resp.Body.Close()
		require.Equal(t, info.HolderURL+"/"+brand, disc["issuer"])
		require.NotNil(t, disc["mtls_endpoint_aliases"])
	}
	// TLS 1.1 is refused.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: b.RootPool(), MaxVersion: tls.VersionTLS11}}}
	_, err := old.Get(info.HolderURL + "/acme/.well-known/openid-configuration")
	require.Error(t, err, "TLS below 1.2 is refused")
	// The token endpoint needs a client certificate from the configured CA.
	req, _ := http.NewRequest(http.MethodPost, info.HolderURL+"/acme/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-fapi-interaction-id", "d78fc4e5-37ca-4da3-adf2-9b082bf92280")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no client certificate on the token endpoint")

	// The operators come from the users file.
	req, _ = http.NewRequest(http.MethodGet, info.URL+"/admin/v1/jobs", nil)
	req.SetBasicAuth("ops", "s3cret-operator")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// startServe runs `ofp` with args (a serve on dataDir) and the extra
// environment env, stops it when the test ends (its output logged if the
// test failed), and waits for its server.json. It returns the server's
// addresses and its output, stdout and stderr together.
func startServe(t *testing.T, dataDir string, args []string, env ...string) (serverInfo, *bytes.Buffer) {
	t.Helper()
	cmd := ofpCommand(args...)
	cmd.Env = append(cmd.Env, env...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ofp %s output:\n%s", filepath.Base(dataDir), out.String())
		}
	})
	info := waitFor(t, 60*time.Second, func() (serverInfo, bool) {
		raw, err := os.ReadFile(filepath.Join(dataDir, "server.json"))
		var si serverInfo
		return si, err == nil && json.Unmarshal(raw, &si) == nil && si.HolderURL != ""
	})
	return info, out
}

// serveAnchors are the trust anchors and operators of an `ofp serve`
// configured as in production.
type serveAnchors struct {
	bundle                      *pki.Bundle
	transport                   pki.ClientSpec
	transportCert, transportKey string
	chain, jwksFile, usersFile  string
}

func newServeAnchors(t *testing.T, dir string) serveAnchors {
	t.Helper()
	// The institution's own transport certificate (BRCAC) for outbound mTLS.
	transport := pki.ClientSpec{Name: "holder-transport", SoftwareID: "5f0c2a1e-8b7d-4c3a-9e61-0d2b4a6c8e10",
		OrgID: "8d4a3f0c-0f6a-4d8e-9b1a-6f1f5c3e2a10", CNPJ: "00000000000191", OrganizationName: "Acme Bank"}
	b, err := pki.Generate(filepath.Join(dir, "anchors"), pki.Options{Clients: []pki.ClientSpec{pki.DemoClient, transport}})
	require.NoError(t, err)
	a := serveAnchors{bundle: b, transport: transport,
		transportCert: filepath.Join(dir, "anchors", "client-holder-transport.crt"),
		transportKey:  filepath.Join(dir, "anchors", "client-holder-transport.key"),
		jwksFile:      filepath.Join(dir, "directory.jwks"), chain: filepath.Join(dir, "server-chain.crt"),
		usersFile: filepath.Join(dir, "users.json")}
	jwks, err := b.DirectoryJWKS()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(a.jwksFile, jwks, 0o600))
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-operator"), rbac.MinBcryptCost)
	require.NoError(t, err)
	users, _ := json.Marshal(rbac.Config{Users: []rbac.User{{Username: "ops", PasswordHash: string(hash), Roles: []rbac.Role{rbac.RoleOperator}}}})
	// The server certificate file carries its chain, as in production.
	leaf, err := os.ReadFile(b.ServerCertPath)
	require.NoError(t, err)
	inter, err := os.ReadFile(b.IntermediateCertPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(a.chain, append(leaf, inter...), 0o600))
	require.NoError(t, os.WriteFile(a.usersFile, users, 0o600))
	return a
}

// args are the flags of `ofp serve` on dataDir, without the organisation
// id, the transport certificate and the session key.
func (a serveAnchors) args(dataDir string) []string {
	return []string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--holder-listen", "127.0.0.1:0",
		"--tls-cert", a.chain, "--tls-key", a.bundle.ServerKeyPath, "--client-ca", a.bundle.RootCertPath, "--jwks-trust", a.bundle.RootCertPath,
		"--directory-jwks", a.jwksFile, "--users-file", a.usersFile, "--brands", "acme=Acme Bank,acme-pj=Acme Empresas",
		"--schedule", "@yearly", "--log-level", "warn"}
}
