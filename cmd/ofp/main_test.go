package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain lets tests run the ofp command in a child process without a
// separate build: with OFP_TEST_RUN_MAIN=1 the test binary is ofp.
func TestMain(m *testing.M) {
	if os.Getenv("OFP_TEST_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// ofpCommand returns a child process running `ofp args...`.
func ofpCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "OFP_TEST_RUN_MAIN=1")
	return cmd
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for _, c := range []string{"demo", "serve", "collect opendata", "pipeline opendata", "warehouse rebuild", "report fees", "report rates", "sim", "sim backend", "keys list", "keys rotate", "keys reseal", "config", "bench"} {
		var out bytes.Buffer
		code := run(append(strings.Fields(c), "--help"), &out, &out)
		require.Equal(t, 0, code, c)
		require.Contains(t, out.String(), "Usage: ofp "+c, c)
		require.Contains(t, out.String(), "Examples:", c)
	}
	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"--help"}, &out, io.Discard))
	require.Contains(t, out.String(), "ofp demo")
	require.Equal(t, 2, run([]string{"frobnicate"}, io.Discard, &out))
	require.Contains(t, out.String(), `unknown command "frobnicate"`)
}

func TestCollectOnceFailsClearlyWhenNothingCanBeCollected(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := ofpCommand("collect", "opendata", "--once", "--data-dir", t.TempDir(), "--directory-url", "http://127.0.0.1:1/participants")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "a collection that reached nothing must fail")
	require.NotZero(t, ee.ExitCode())
	require.Contains(t, stderr.String(), "read the directory at http://127.0.0.1:1/participants")
}

func TestConfigDumpRedactsSecrets(t *testing.T) {
	t.Setenv("OFP_S3_SECRET_KEY", "s3cr3t-value-never-printed")
	t.Setenv("OFP_DATABASE_URL", "postgres://ofp:pg-passw0rd@db/ofp")
	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"config", "--kafka-brokers", "k1:9092"}, &out, io.Discard))
	require.NotContains(t, out.String(), "s3cr3t-value-never-printed")
	require.Contains(t, out.String(), "S3SecretKey=[redacted]")
	require.NotContains(t, out.String(), "pg-passw0rd")
	require.Contains(t, out.String(), "DatabaseURL=[redacted]")
	require.Contains(t, out.String(), "KafkaBrokers=k1:9092")
}
