package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/jobs"
	"github.com/ofp-dev/ofp/warehouse"
)

// demoProcess is `ofp demo` running in a child process.
type demoProcess struct {
	t      *testing.T
	dir    string
	url    string
	done   chan error
	stderr *bytes.Buffer
	cmd    interface{ Signal(os.Signal) error }
}

func startDemo(t *testing.T, dir string) *demoProcess {
	t.Helper()
	cmd := ofpCommand("demo", "--data-dir", dir, "--listen", "127.0.0.1:0", "--holder-listen", "127.0.0.1:0", "--log-level", "warn")
	d := &demoProcess{t: t, dir: dir, done: make(chan error, 1), stderr: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = io.Discard, d.stderr
	require.NoError(t, cmd.Start())
	d.cmd = cmd.Process
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("ofp demo stderr:\n%s", d.stderr.String())
		}
	})
	d.url = waitFor(t, 60*time.Second, func() (string, bool) {
		b, err := os.ReadFile(filepath.Join(dir, "server.json"))
		var info serverInfo
		if err != nil || json.Unmarshal(b, &info) != nil || info.URL == "" {
			return "", false
		}
		return info.URL, true
	})
	return d
}

// waitHolder waits until the child in dir has written its server.json with
// the regulated interface's URL, and returns it.
func waitHolder(t *testing.T, dir string) serverInfo {
	t.Helper()
	return waitFor(t, 10*time.Second, func() (serverInfo, bool) {
		b, err := os.ReadFile(filepath.Join(dir, "server.json"))
		var info serverInfo
		return info, err == nil && json.Unmarshal(b, &info) == nil && info.HolderURL != ""
	})
}

// waitFor polls cond (a child process exposes no events to wait on).
func waitFor[T any](t *testing.T, limit time.Duration, cond func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if v, ok := cond(); ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(into))
}

// waitCollections waits until the job has run n times successfully.
func (d *demoProcess) waitCollections(n int) {
	waitFor(d.t, 3*time.Minute, func() (struct{}, bool) {
		var runs []jobs.Run
		d.adminJSON(http.MethodGet, "/admin/v1/jobs/"+jobCollectOpenData+"/runs", &runs)
		ok := 0
		for _, r := range runs {
			require.NotEqual(d.t, "failed", r.Status, "collection failed: %s", r.Error)
			if r.Status == "ok" {
				ok++
			}
		}
		return struct{}{}, ok >= n
	})
}

// adminJSON calls the admin API as a local command does (CLI token).
func (d *demoProcess) adminJSON(method, path string, into any) {
	d.t.Helper()
	tok, err := cliToken(d.dir)
	require.NoError(d.t, err)
	req, _ := http.NewRequest(method, d.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(d.t, err)
	defer resp.Body.Close()
	require.Equal(d.t, http.StatusOK, resp.StatusCode, path)
	require.NoError(d.t, json.NewDecoder(resp.Body).Decode(into))
}

// interrupt sends Ctrl-C and returns how long the process took to exit.
func (d *demoProcess) interrupt() time.Duration {
	start := time.Now()
	require.NoError(d.t, d.cmd.Signal(syscall.SIGINT))
	select {
	case err := <-d.done:
		require.NoError(d.t, err, "a clean stop exits 0")
	case <-time.After(30 * time.Second):
		d.t.Fatal("ofp demo did not stop within 30s of Ctrl-C")
	}
	return time.Since(start)
}

func collectionIDs(t *testing.T, d *demoProcess) map[string]bool {
	var runs []warehouse.CollectionRun
	d.adminJSON(http.MethodGet, "/analytics/v1/collections?all=true", &runs)
	ids := map[string]bool{}
	for _, r := range runs {
		ids[r.CollectionID] = true
	}
	return ids
}

func TestDemoCollectsServesStopsCleanlyAndKeepsDataAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	d := startDemo(t, dir)
	d.waitCollections(1)

	var fees []warehouse.FeeComparison
	d.adminJSON(http.MethodGet, "/analytics/v1/fees?product=personal-accounts", &fees)
	require.NotEmpty(t, fees)
	for _, f := range fees {
		require.True(t, f.Simulated, "demo figures are labelled simulated")
	}
	tok, err := cliToken(dir)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, d.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Regexp(t, `ofp_pipeline_records_total\{pipeline="opendata"\} [1-9]`, string(metrics))
	for _, stage := range []string{"transform", "lake", "warehouse"} {
		m := regexp.MustCompile(`ofp_pipeline_stage_seconds_total\{pipeline="opendata",stage="` + stage + `"\} (\S+)`).FindStringSubmatch(string(metrics))
		require.NotNil(t, m, "stage %s is exported", stage)
		secs, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		require.Positive(t, secs, "the collection spent time in %s", stage)
	}
	// The warehouse's loads, and where their time went.
	require.Regexp(t, `ofp_warehouse_loads_total [1-9]`, string(metrics))
	require.Regexp(t, `ofp_warehouse_load_rows_total [1-9]`, string(metrics))
	require.Regexp(t, `ofp_warehouse_loads_failed_total 0\n`, string(metrics))
	for _, step := range []string{"plan", "items", "rows", "queue", "commit"} {
		m := regexp.MustCompile(`ofp_warehouse_load_seconds_total\{step="` + step + `"\} (\S+)`).FindStringSubmatch(string(metrics))
		require.NotNil(t, m, "step %s is exported", step)
		secs, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		require.Positive(t, secs, "the loads spent time in %s", step)
	}
	require.Regexp(t, `ofp_warehouse_checkpoints_total \d`, string(metrics))
	require.Regexp(t, `ofp_warehouse_refreshes_total \d`, string(metrics))
	require.Regexp(t, `ofp_warehouse_folds_total \d`, string(metrics), "exported, if none ran yet")

	first := collectionIDs(t, d)
	require.Len(t, first, 1)

	// Internal APIs and pages need a role: anonymous → 401, wrong token → 401,
	// the demo operator (admin) may run jobs.
	for _, path := range []string{"/admin/v1/jobs", "/admin/v1/consents", "/admin/v1/purposes", "/console/", "/analytics/v1/fees", "/metrics"} {
		resp, err := http.Get(d.url + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusSeeOther}, resp.StatusCode, "anonymous %s", path)
	}
	req, _ = http.NewRequest(http.MethodPost, d.url+"/admin/v1/jobs/"+jobCollectOpenData+"/run", nil)
	req.Header.Set("Authorization", "Bearer forged")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a forged CLI token is refused")
	pw, err := os.ReadFile(filepath.Join(dir, "secrets", "admin-password"))
	require.NoError(t, err)
	req, _ = http.NewRequest(http.MethodGet, d.url+"/admin/v1/jobs", nil)
	req.SetBasicAuth("admin", strings.TrimSpace(string(pw)))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the demo operator reads the jobs")

	// An analyst's command beside the running server reads through it.
	var out bytes.Buffer
	require.NoError(t, runReport(context.Background(), []string{"fees", "--data-dir", dir, "--product", "personal-accounts"}, &out, io.Discard))
	require.Contains(t, out.String(), "SIMULATED")

	took := d.interrupt()
	require.Less(t, took, 10*time.Second, "Ctrl-C stops everything within 10 s")
	_, err = os.Stat(filepath.Join(dir, "server.json"))
	require.True(t, os.IsNotExist(err), "a stopped server leaves no server.json")

	d2 := startDemo(t, dir)
	kept := collectionIDs(t, d2)
	for id := range first {
		require.True(t, kept[id], "collection %s survived the restart", id)
	}
	d2.waitCollections(1)
	require.Len(t, collectionIDs(t, d2), 2, fmt.Sprintf("the restart collected again beside the kept data"))
	require.Less(t, d2.interrupt(), 10*time.Second)
}
