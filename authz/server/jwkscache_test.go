package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestJWKSCacheKeepsSuccessfulAnswersForTTL(t *testing.T) {
	var hits atomic.Int32
	fail := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"keys":[]}`)
	}))
	defer srv.Close()
	now := time.Unix(1_700_000_000, 0)
	c := newJWKSCache(http.DefaultTransport, time.Minute)
	c.now = func() time.Time { return now }
	client := &http.Client{Transport: c}
	get := func() (int, string) {
		resp, err := client.Get(srv.URL + "/a.jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := 0; i < 3; i++ {
		if code, body := get(); code != 200 || body != `{"keys":[]}` {
			t.Fatalf("answer %d %q", code, body)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d fetches within the TTL, want 1", hits.Load())
	}
	now = now.Add(61 * time.Second)
	fail.Store(true)
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("after the TTL the origin is asked again; got %d", code)
	}
	if code, _ := get(); code != http.StatusServiceUnavailable || hits.Load() != 3 {
		t.Fatalf("a failed answer must not be cached (hits %d)", hits.Load())
	}
	if _, err := client.Post(srv.URL+"/a.jwks", "text/plain", nil); err != nil || hits.Load() != 4 {
		t.Fatalf("POST goes through: %v, hits %d", err, hits.Load())
	}
}
