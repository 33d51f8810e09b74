package backendrpc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewClientRefusesUnsafeURLs(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://core.bank.internal/ofp": true,
		"http://127.0.0.1:8091":          true,
		"http://localhost:8091":          true,
		"http://[::1]:8091":              true,
		"http://core.bank.internal":      false, // plain http off loopback
		"https://user:pw@core.internal":  false, // credentials in the URL
		"ftp://core.internal":            false,
		"core.internal":                  false,
		"":                               false,
	} {
		_, err := NewClient(Options{BaseURL: url})
		if (err == nil) != ok {
			t.Errorf("NewClient(%q): err = %v, want ok = %v", url, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("the error repeats the URL's credentials: %v", err)
		}
	}
}

type echo struct {
	Value string `json:"value"`
}

func TestCallAnswersErrorsAndLimits(t *testing.T) {
	mux := http.NewServeMux()
	Handle(mux, "/echo", "tok", func(err error) (int, string) {
		if err.Error() == "not found" {
			return http.StatusNotFound, "NOT_FOUND"
		}
		return 0, ""
	}, func(_ context.Context, in echo) (echo, error) {
		switch in.Value {
		case "missing":
			return echo{}, errors.New("not found")
		case "boom":
			return echo{}, errors.New("database password is hunter2")
		case "big":
			return echo{Value: strings.Repeat("x", 2048)}, nil
		}
		return in, nil
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := NewClient(Options{BaseURL: srv.URL, Token: "tok", MaxBody: 1024, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out echo
	if err := c.Call(ctx, "/echo", echo{"hi"}, &out, true); err != nil || out.Value != "hi" {
		t.Fatalf("echo: %+v %v", out, err)
	}
	var be *Error
	if err := c.Call(ctx, "/echo", echo{"missing"}, &out, true); !errors.As(err, &be) || be.Code != "NOT_FOUND" || be.Status != 404 {
		t.Fatalf("a contract error: %v, want *Error NOT_FOUND 404", err)
	}
	// An unexpected failure is a 500 without its detail.
	err = c.Call(ctx, "/echo", echo{"boom"}, &out, true)
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("an internal failure: %v, want ErrUnavailable without the detail", err)
	}
	if err := c.Call(ctx, "/echo", echo{"big"}, &out, true); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("an answer over the cap: %v", err)
	}
	if err := c.Call(ctx, "/nowhere", echo{"hi"}, &out, true); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("an unknown path: %v", err)
	}
	// What /metrics exports: per path, answered, refused, unavailable.
	st := c.Stats()["/echo"]
	if st.OK != 1 || st.Refused != 1 || st.Unavailable != 2 || st.Retries != 0 {
		t.Fatalf("stats of /echo: %+v, want 1 ok, 1 refused, 2 unavailable", st)
	}
	if last := st.Buckets[len(st.Buckets)-1]; last != 4 || st.Seconds <= 0 {
		t.Fatalf("latency of /echo: %d calls within %gs, %g s in all; want 4", last, LatencyBuckets[len(LatencyBuckets)-1], st.Seconds)
	}
}

func TestStatsCountRetries(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"value":"x"}`))
	}))
	defer srv.Close()
	c, err := NewClient(Options{BaseURL: srv.URL, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var out echo
	if err := c.Call(context.Background(), "/r", echo{}, &out, true); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats()["/r"]; st.OK != 1 || st.Retries != 2 {
		t.Fatalf("stats: %+v, want 1 ok after 2 retries", st)
	}
}

func TestHTTPClientChecksItsFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := HTTPClient(notPEM, "", ""); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("a CA file without certificates: %v", err)
	}
	if _, err := HTTPClient("", filepath.Join(dir, "c.pem"), ""); err == nil {
		t.Fatal("a certificate without its key was accepted")
	}
	hc, err := HTTPClient("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if min := hc.Transport.(*http.Transport).TLSClientConfig.MinVersion; min < 0x0303 {
		t.Fatalf("TLS minimum %x, want 1.2 or newer", min)
	}
}
