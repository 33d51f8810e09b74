package opendata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/directory"
)

// sleepRecorder replaces Options.Sleep: it records the waits asked for and
// returns at once (or ctx's error).
type sleepRecorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.sleeps = append(s.sleeps, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.sleeps...)
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("BRT", -3*3600))

func testClient(t *testing.T, srv *httptest.Server, change func(*Options)) (*Client, *sleepRecorder) {
	t.Helper()
	rec := &sleepRecorder{}
	opts := DefaultOptions()
	if srv != nil {
		opts.HTTPClient = srv.Client()
	}
	opts.Timeout = 5 * time.Second
	opts.BaseBackoff = 100 * time.Millisecond
	opts.MaxBackoff = time.Second
	opts.MaxRetryAfter = 10 * time.Second
	opts.Sleep = rec.sleep
	opts.Jitter = func(d time.Duration) time.Duration { return d }
	opts.Now = func() time.Time { return testNow }
	if change != nil {
		change(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	return c, rec
}

func endpoint(u string) directory.Endpoint {
	return directory.Endpoint{OrganisationID: "org", Family: "opendata-loans", Version: "1.0.1", Product: "personal-loans", URL: u}
}

// collect runs Fetch and returns the emitted pages.
func collect(t *testing.T, c *Client, ctx context.Context, u string) ([]Page, Stats, error) {
	t.Helper()
	var pages []Page
	st, err := c.Fetch(ctx, endpoint(u), func(p Page) error { pages = append(pages, p); return nil })
	return pages, st, err
}

func pageJSON(next string, totalPages int) string {
	links := `{}`
	if next != "" {
		links = fmt.Sprintf(`{"self":"x","next":%q}`, next)
	}
	return fmt.Sprintf(`{"data":[{"n":1}],"links":%s,"meta":{"totalRecords":3,"totalPages":%d}}`, links, totalPages)
}

func TestFetchFollowsLinksNext(t *testing.T) {
	var srv *httptest.Server
	var hits atomic.Int32
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		require.Equal(t, "ofp-opendata-collector/"+Version, r.Header.Get("User-Agent"))
		require.Equal(t, "application/json", r.Header.Get("Accept"))
		switch r.URL.Query().Get("cursor") {
		case "":
			fmt.Fprint(w, `{"data":[],"links":{"next":"/loans?cursor=b"}}`) // relative
		case "b":
			fmt.Fprint(w, `{"data":[],"links":{"next":"`+srv.URL+`/loans?cursor=c"},"meta":{"totalPages":"3"}}`)
		case "c":
			fmt.Fprint(w, `{"data":[],"links":{"next":null}}`)
		}
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, nil)

	pages, st, err := collect(t, c, context.Background(), srv.URL+"/loans")
	require.NoError(t, err)
	require.Len(t, pages, 3)
	require.Equal(t, int32(3), hits.Load())
	require.Equal(t, srv.URL+"/loans?cursor=b", pages[1].URL)
	require.Equal(t, srv.URL+"/loans?cursor=c", pages[2].URL)
	for i, p := range pages {
		require.Equal(t, i+1, p.Number)
		require.Equal(t, 200, p.StatusCode)
		require.Equal(t, 1, p.Attempts)
		require.NoError(t, p.Err)
		require.Equal(t, time.UTC, p.FetchedAt.Location())
		require.True(t, p.FetchedAt.Equal(testNow))
	}
	require.Equal(t, 3, st.Pages)
	require.Equal(t, 0, st.Errors)
	require.Equal(t, int64(len(pages[0].Body)+len(pages[1].Body)+len(pages[2].Body)), st.Bytes)
	require.Empty(t, rec.got())
}

func TestFetchFollowsMetaTotalPages(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.RawQuery)
		mu.Unlock()
		fmt.Fprint(w, pageJSON("", 3))
	}))
	defer srv.Close()
	c, _ := testClient(t, srv, func(o *Options) { o.PageSize = 100 })

	pages, st, err := collect(t, c, context.Background(), srv.URL+"/open-banking/opendata-loans/v1/personal-loans?x=1")
	require.NoError(t, err)
	require.Len(t, pages, 3)
	require.Equal(t, 3, st.Pages)
	require.Equal(t, []string{"page-size=100&x=1", "page=2&page-size=100&x=1", "page=3&page-size=100&x=1"}, got)
}

func TestFetchRealExampleStopsOnLastPage(t *testing.T) {
	// The published example's only page has a placeholder links.next on
	// another host; meta.totalPages=1 ends the walk cleanly.
	body, err := os.ReadFile("testdata/personal-loans-example.json")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	c, _ := testClient(t, srv, nil)
	pages, st, err := collect(t, c, context.Background(), srv.URL)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	require.Equal(t, body, pages[0].Body)
	require.Equal(t, 0, st.Errors)
}

func TestFetchLoopGuard(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			fmt.Fprint(w, `{"links":{"next":"`+srv.URL+`/p"}}`) // back to page 1
			return
		}
		fmt.Fprint(w, `{"links":{"next":"`+srv.URL+`/p?page=2"}}`)
	}))
	defer srv.Close()
	c, _ := testClient(t, srv, nil)
	pages, st, err := collect(t, c, context.Background(), srv.URL+"/p")
	require.ErrorIs(t, err, ErrPaginationLoop)
	require.Len(t, pages, 2)
	require.Equal(t, 1, st.Errors)
}

func TestFetchMaxPages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		fmt.Fprintf(w, `{"links":{"next":"?page=%d"}}`, n+1)
	}))
	defer srv.Close()
	c, _ := testClient(t, srv, func(o *Options) { o.MaxPages = 4 })
	pages, _, err := collect(t, c, context.Background(), srv.URL+"/p")
	require.ErrorIs(t, err, ErrMaxPages)
	require.Len(t, pages, 4)
}

func TestFetchRetries5xxThenSucceeds(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, `{"data":[]}`)
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, nil)
	pages, st, err := collect(t, c, context.Background(), srv.URL)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	require.Equal(t, 3, pages[0].Attempts)
	require.Equal(t, 200, pages[0].StatusCode)
	require.Equal(t, 2, st.Retries)
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, rec.got(), "exponential backoff")
}

func TestFetchGivesUpAfterRetries(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(529)
		fmt.Fprint(w, `{"errors":[{"code":"OVERLOADED"}]}`)
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, func(o *Options) { o.MaxRetries = 4; o.MaxBackoff = 300 * time.Millisecond })
	pages, st, err := collect(t, c, context.Background(), srv.URL)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 529, se.StatusCode)
	require.Equal(t, int32(5), hits.Load())
	require.Len(t, pages, 1)
	require.Equal(t, 529, pages[0].StatusCode)
	require.Equal(t, 5, pages[0].Attempts)
	require.Contains(t, string(pages[0].Body), "OVERLOADED")
	require.ErrorAs(t, pages[0].Err, &se)
	require.Equal(t, 1, st.Errors)
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}, rec.got(), "capped by MaxBackoff")
}

func TestFetch429HonoursRetryAfter(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", testNow.Add(7*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusTooManyRequests)
		case 3:
			w.Header().Set("Retry-After", "86400") // hostile: capped
			w.WriteHeader(http.StatusServiceUnavailable)
		case 4:
			w.Header().Set("Retry-After", "soon") // unreadable: backoff
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			fmt.Fprint(w, `{}`)
		}
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, func(o *Options) { o.MaxRetries = 5 })
	pages, st, err := collect(t, c, context.Background(), srv.URL)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	require.Equal(t, 5, pages[0].Attempts)
	require.Equal(t, 4, st.Retries)
	require.Equal(t, []time.Duration{3 * time.Second, 7 * time.Second, 10 * time.Second, 800 * time.Millisecond}, rec.got())
}

func TestFetch404NotRetried(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, nil)
	pages, st, err := collect(t, c, context.Background(), srv.URL)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 404, se.StatusCode)
	require.Equal(t, int32(1), hits.Load())
	require.Empty(t, rec.got())
	require.Len(t, pages, 1)
	require.Equal(t, 404, pages[0].StatusCode)
	require.Equal(t, 1, st.Errors)
	require.Equal(t, 0, st.Retries)
}

func TestFetchMalformedJSONEmittedAndStops(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			fmt.Fprint(w, `{"data":[],"links":{"next":"?page=2"}}`)
			return
		}
		fmt.Fprint(w, `{"data":[{"rate":"0.15"`) // cut JSON, complete HTTP body
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, nil)
	pages, st, err := collect(t, c, context.Background(), srv.URL)
	require.ErrorIs(t, err, ErrMalformedJSON)
	require.Len(t, pages, 2)
	require.Equal(t, `{"data":[{"rate":"0.15"`, string(pages[1].Body))
	require.ErrorIs(t, pages[1].Err, ErrMalformedJSON)
	require.Equal(t, 200, pages[1].StatusCode)
	require.Equal(t, int32(2), hits.Load())
	require.Empty(t, rec.got(), "malformed JSON is not retried")
	require.Equal(t, 1, st.Errors)
}

func TestFetchTruncatedBody(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte(`{"data":[`)) // the server closes the connection short
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, func(o *Options) { o.MaxRetries = 1 })
	pages, _, err := collect(t, c, context.Background(), srv.URL)
	require.ErrorIs(t, err, ErrTruncated)
	require.Equal(t, int32(2), hits.Load(), "a truncated body is retried")
	require.Len(t, rec.got(), 1)
	require.Len(t, pages, 1)
	require.Equal(t, `{"data":[`, string(pages[0].Body))
	require.Equal(t, 2, pages[0].Attempts)
	require.ErrorIs(t, pages[0].Err, ErrTruncated)
}

func TestFetchBodySizeCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		big := `{"data":"` + strings.Repeat("x", 2000) + `"}`
		if r.URL.Path == "/chunked" {
			_, _ = w.Write([]byte(big[:10]))
			w.(http.Flusher).Flush() // no Content-Length: the cap applies while reading
		}
		if r.URL.Path == "/chunked" {
			_, _ = w.Write([]byte(big[10:]))
			return
		}
		_, _ = w.Write([]byte(big))
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, func(o *Options) { o.MaxBodyBytes = 1024 })
	for _, path := range []string{"/declared", "/chunked"} {
		pages, st, err := collect(t, c, context.Background(), srv.URL+path)
		require.ErrorIs(t, err, ErrBodyTooLarge, path)
		require.Len(t, pages, 1, path)
		require.Empty(t, pages[0].Body, path)
		require.Equal(t, 200, pages[0].StatusCode, path)
		require.Equal(t, 1, st.Errors, path)
	}
	require.Empty(t, rec.got(), "too large is not retried")
}

func TestFetchTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"data":[`))
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done() // hang until the client gives up
	}))
	defer srv.Close()
	c, rec := testClient(t, srv, func(o *Options) { o.Timeout = 50 * time.Millisecond; o.MaxRetries = 1 })

	pages, st, err := collect(t, c, context.Background(), srv.URL+"/headers")
	require.ErrorIs(t, err, ErrTimeout)
	require.Len(t, pages, 1)
	require.Equal(t, 0, pages[0].StatusCode)
	require.Equal(t, 2, pages[0].Attempts)
	require.Equal(t, 1, st.Retries)

	pages, _, err = collect(t, c, context.Background(), srv.URL+"/body")
	require.ErrorIs(t, err, ErrTimeout)
	require.Equal(t, `{"data":[`, string(pages[0].Body))
	require.Len(t, rec.got(), 2)
}

func TestFetchContextCancel(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()

	t.Run("during request", func(t *testing.T) {
		c, _ := testClient(t, srv, func(o *Options) { o.Timeout = time.Hour })
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		pages, _, err := collect(t, c, ctx, srv.URL+"/hang")
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, pages)
	})
	t.Run("during backoff", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c, _ := testClient(t, srv, func(o *Options) {
			o.BaseBackoff, o.MaxBackoff = time.Hour, time.Hour
			o.Sleep = func(sctx context.Context, d time.Duration) error {
				cancel()
				return SleepContext(sctx, d) // the real sleep must return at once
			}
		})
		pages, _, err := collect(t, c, ctx, srv.URL+"/fail")
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, pages)
	})
}

func TestFetchRefusesOtherHost(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		fmt.Fprint(w, `{}`)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		case "/scheme":
			fmt.Fprint(w, `{"links":{"next":"file:///etc/passwd"}}`)
		default:
			fmt.Fprint(w, `{"links":{"next":"`+other.URL+`/internal"}}`)
		}
	}))
	defer srv.Close()

	c, _ := testClient(t, srv, nil)
	for _, path := range []string{"/next", "/redirect", "/scheme"} {
		_, _, err := collect(t, c, context.Background(), srv.URL+path)
		require.ErrorIs(t, err, ErrUnsafeURL, path)
	}
	require.Equal(t, int32(0), otherHits.Load())

	open, _ := testClient(t, srv, func(o *Options) { o.AllowCrossHost = true })
	pages, _, err := collect(t, open, context.Background(), srv.URL+"/next")
	require.NoError(t, err)
	require.Len(t, pages, 2)
	_, _, err = collect(t, open, context.Background(), srv.URL+"/scheme")
	require.ErrorIs(t, err, ErrUnsafeURL, "non-HTTP schemes stay refused")
	require.Equal(t, int32(1), otherHits.Load())

	_, _, err = collect(t, c, context.Background(), "ftp://x.example/p")
	require.ErrorIs(t, err, ErrUnsafeURL)
}

func TestFetchEmitErrorStops(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, pageJSON("", 5))
	}))
	defer srv.Close()
	c, _ := testClient(t, srv, nil)
	sinkDown := errors.New("sink down")
	st, err := c.Fetch(context.Background(), endpoint(srv.URL), func(Page) error { return sinkDown })
	require.ErrorIs(t, err, sinkDown)
	require.Equal(t, int32(1), hits.Load())
	require.Equal(t, 1, st.Pages)
}

func TestOptionsValidated(t *testing.T) {
	o := DefaultOptions()
	o.MaxPages = 0
	o.Timeout = 0
	_, err := New(o)
	require.ErrorContains(t, err, "MaxPages")
	require.ErrorContains(t, err, "Timeout")
	_, err = New(DefaultOptions())
	require.NoError(t, err)
}
