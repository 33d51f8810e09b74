package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/internal/sqltest"
)

// The servers these tests start (in process or as `ofp serve` children of
// the test binary) reload their keys every half second.
func init() {
	keyReloadInterval = 500 * time.Millisecond
	keyPublishAhead = 2 * time.Second
}

// TestServeReplicasShareTheirKeys runs two `ofp serve` replicas on one
// PostgreSQL: they publish one key set per brand, and a rotation made with
// `ofp keys rotate` while they run is published by both, ahead of its use.
func TestServeReplicasShareTheirKeys(t *testing.T) {
	dir := t.TempDir()
	a := newServeAnchors(t, dir)
	dsn := sqltest.PostgresSchema(t, "ofp_serve_keys")
	sessionKey := strings.Repeat("r", 40)
	var holders []string
	for i := range 2 {
		data := filepath.Join(dir, fmt.Sprintf("replica-%d", i))
		info, _ := startServe(t, data, append(a.args(data), "--database-url", dsn, "--org-id", a.transport.OrgID,
			"--transport-cert", a.transportCert, "--transport-key", a.transportKey), "OFP_SESSION_KEY="+sessionKey)
		holders = append(holders, info.HolderURL)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: a.bundle.RootPool(), MinVersion: tls.VersionTLS12}}}
	jwks := func(holder string) string {
		t.Helper()
		resp, err := client.Get(holder + "/acme/.well-known/openid-configuration")
		require.NoError(t, err)
		var disc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&disc))
		resp.Body.Close()
		resp, err = client.Get(disc.JWKSURI)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return string(body)
	}
	require.Equal(t, jwks(holders[0]), jwks(holders[1]), "one key set, whichever replica answers")

	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"keys", "rotate", "--brand", "acme", "--database-url", dsn, "--session-key", sessionKey}, &out, &out), out.String())
	m := regexp.MustCompile(`new sig key (\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	kid := m[1]
	require.NotContains(t, out.String(), sessionKey)
	for _, h := range holders {
		waitFor(t, 10*time.Second, func() (struct{}, bool) { return struct{}{}, strings.Contains(jwks(h), kid) })
	}

	out.Reset()
	require.Equal(t, 0, run([]string{"keys", "list", "--database-url", dsn, "--session-key", sessionKey}, &out, &out), out.String())
	require.Regexp(t, `acme\s+sig\s+`+regexp.QuoteMeta(kid)+`\s+\S+ \S+\s+(published, in use from|in use)`, out.String())
	require.Regexp(t, `acme-pj\s+enc\s+`, out.String())
	require.NotContains(t, out.String(), `"d"`, "no private member is printed")

	// Another session key cannot open the keys, and says so.
	out.Reset()
	require.Equal(t, 1, run([]string{"keys", "list", "--database-url", dsn, "--session-key", strings.Repeat("x", 40)}, &out, &out))
	require.Contains(t, out.String(), "SealKey")
}

// TestKeysOfAnEarlierVersionMoveIntoTheStore: a data dir whose keys an
// earlier version kept in <data-dir>/keys keeps them (same kids) once they
// live in the authz store, and the store's keys are never replaced by a
// file's.
func TestKeysOfAnEarlierVersionMoveIntoTheStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	brands := []keys.Brand{{ID: "ofp", Issuer: "https://localhost/ofp", DisplayName: "OFP"}}
	files, err := keys.NewFileStore(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	old, err := keys.NewManager(ctx, files, brands, keys.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	oldJWKS, err := old.PublicJWKS("ofp")
	require.NoError(t, err)

	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "authz.db"), store.Options{SealKey: sealKeyFrom(strings.Repeat("s", 32)), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer st.Close()
	var logs bytes.Buffer
	require.NoError(t, moveFileKeys(ctx, filepath.Join(dir, "keys"), st.Keys(), brands, slog.New(slog.NewTextHandler(&logs, nil))))
	require.Contains(t, logs.String(), "keys moved into the authz store")
	m, err := keys.NewManager(ctx, st.Keys(), brands, keys.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	jwks, err := m.PublicJWKS("ofp")
	require.NoError(t, err)
	require.JSONEq(t, string(oldJWKS), string(jwks), "the same keys, now shared")

	// A later change of the file is not moved again: the store wins.
	_, err = old.Rotate(ctx, "ofp")
	require.NoError(t, err)
	logs.Reset()
	require.NoError(t, moveFileKeys(ctx, filepath.Join(dir, "keys"), st.Keys(), brands, slog.New(slog.NewTextHandler(&logs, nil))))
	require.Empty(t, logs.String())
	require.NoError(t, m.Reload(ctx))
	again, err := m.PublicJWKS("ofp")
	require.NoError(t, err)
	require.JSONEq(t, string(oldJWKS), string(again))

	// No key directory (a new install): nothing to move, nothing created.
	require.NoError(t, moveFileKeys(ctx, filepath.Join(dir, "none"), st.Keys(), brands, slog.New(slog.DiscardHandler)))
	require.NoDirExists(t, filepath.Join(dir, "none"))
}

// TestKeysResealRotatesTheSessionKey: after a change of --session-key,
// the stored keys open only with the old one passed as a previous key;
// `ofp keys reseal` moves them under the new one, which then suffices.
// Neither key is ever printed.
func TestKeysResealRotatesTheSessionKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldKey, newKey := strings.Repeat("o", 40), strings.Repeat("n", 40)
	brands := []keys.Brand{{ID: "ofp", Issuer: "https://localhost/ofp", DisplayName: "OFP"}}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "authz.db"), store.Options{SealKey: sealKeyFrom(oldKey), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	_, err = keys.NewManager(ctx, st.Keys(), brands, keys.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	run := func(env []string, args ...string) (string, error) {
		cmd := ofpCommand(append([]string{"keys"}, append(args, "--data-dir", dir)...)...)
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		require.NotContains(t, string(out), oldKey)
		require.NotContains(t, string(out), newKey)
		return string(out), err
	}
	newOnly := []string{"OFP_SESSION_KEY=" + newKey}
	both := []string{"OFP_SESSION_KEY=" + newKey, "OFP_PREVIOUS_SESSION_KEYS=" + oldKey}

	out, err := run(newOnly, "list")
	require.Error(t, err, "the new key alone does not open keys sealed with the old one")
	require.Contains(t, out, "previous key")
	out, err = run(newOnly, "reseal")
	require.Error(t, err)
	require.Contains(t, out, "--previous-session-keys is required")

	out, err = run(both, "list")
	require.NoError(t, err, out)
	require.Contains(t, out, "ofp")
	out, err = run(both, "reseal")
	require.NoError(t, err, out)
	require.Contains(t, out, "resealed 2 keys")

	out, err = run(newOnly, "list")
	require.NoError(t, err, "after the reseal the new key suffices: %s", out)
	require.Contains(t, out, "sig")
	_, err = run([]string{"OFP_SESSION_KEY=" + oldKey}, "list")
	require.Error(t, err, "the old key no longer opens them")
}
