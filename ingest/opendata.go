package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ofp-dev/ofp/connectors/directory"
	"github.com/ofp-dev/ofp/connectors/opendata"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
)

// Fetcher walks one open-data endpoint's pages (connectors/opendata.Client).
type Fetcher interface {
	Fetch(ctx context.Context, ep directory.Endpoint, emit func(opendata.Page) error) (opendata.Stats, error)
}

// Publisher puts envelopes on a topic and returns once they are
// acknowledged (bus.Publisher).
type Publisher interface {
	Publish(ctx context.Context, topic string, envs ...events.Envelope) (bus.Acked, error)
}

// Lake stores raw bytes under a key (objstore.Store).
type Lake interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
}

// Progress is told when an institution is done (progress.Bar).
type Progress interface {
	Add(n int, failed bool)
	Finish()
}

// Options tune a collection.
type Options struct {
	// Institutions is how many institutions are collected at once.
	Institutions int
	// EndpointsPerInstitution bounds concurrent requests to one institution.
	EndpointsPerInstitution int
	// Simulated marks every institution as served by the simulator, so
	// every figure derived from this collection is labelled as simulated.
	Simulated bool
	// Now is the clock (tests); defaults to time.Now.
	Now func() time.Time
}

// DefaultOptions are polite to institutions and finish a directory of a
// few hundred participants in minutes.
func DefaultOptions() Options {
	return Options{Institutions: 8, EndpointsPerInstitution: 2, Now: time.Now}
}

// Collector collects open data from every endpoint it is given.
type Collector struct {
	fetch Fetcher
	pub   Publisher
	lake  Lake
	log   *slog.Logger
	opts  Options
}

// NewCollector wires a collector. lake may be nil (raw bytes then travel
// only on Kafka, for tests of the collector alone).
func NewCollector(f Fetcher, p Publisher, lake Lake, log *slog.Logger, opts Options) *Collector {
	def := DefaultOptions()
	if opts.Institutions <= 0 {
		opts.Institutions = def.Institutions
	}
	if opts.EndpointsPerInstitution <= 0 {
		opts.EndpointsPerInstitution = def.EndpointsPerInstitution
	}
	if opts.Now == nil {
		opts.Now = def.Now
	}
	return &Collector{fetch: f, pub: p, lake: lake, log: log, opts: opts}
}

// Summary is the outcome of one collection run.
type Summary struct {
	CollectionID string
	StartedAt    time.Time
	FinishedAt   time.Time
	Institutions int
	OK           int
	Partial      int
	Failed       int
	Pages        int // pages fetched, whatever their content
	GoodPages    int // pages answered with 2xx
	// Acked is the highest acknowledged offset per partition of the raw
	// topic: once a consumer has committed past them, the collection is in.
	Acked bus.Acked
	// Statuses is one entry per institution, sorted by organisation id.
	Statuses []events.CollectionStatus
}

// ErrNothingCollected is returned when no endpoint answered a single page
// with 2xx: the directory URL, the network or every institution is wrong.
var ErrNothingCollected = errors.New("ingest: nothing could be collected: check the directory URL and the network, and look at the per-institution errors above")

// NewCollectionID returns a sortable, unique collection id.
func NewCollectionID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Collect fetches every endpoint, grouped by institution, and publishes
// pages and statuses. It returns ErrNothingCollected (with the summary)
// when nothing at all could be fetched; other per-institution failures are
// in the summary, not in the error. An error from Kafka aborts the run:
// the pages already acknowledged stay valid.
func (c *Collector) Collect(ctx context.Context, endpoints []directory.Endpoint, prog Progress) (Summary, error) {
	start := c.opts.Now().UTC()
	sum := Summary{CollectionID: NewCollectionID(start), StartedAt: start, Acked: bus.Acked{}}
	groups := groupByInstitution(endpoints)
	sum.Institutions = len(groups)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, c.opts.Institutions)
	)
	for _, g := range groups {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(g institutionGroup) {
			defer wg.Done()
			defer func() { <-sem }()
			st, acked, good, pages, err := c.collectInstitution(ctx, sum.CollectionID, g)
			mu.Lock()
			defer mu.Unlock()
			sum.Acked.Merge(acked)
			sum.Pages += pages
			sum.GoodPages += good
			if err != nil {
				cancel(err)
				return
			}
			sum.Statuses = append(sum.Statuses, st)
			switch st.Status {
			case "ok":
				sum.OK++
			case "partial":
				sum.Partial++
			default:
				sum.Failed++
			}
			if prog != nil {
				prog.Add(1, st.Status == "failed")
			}
		}(g)
	}
	wg.Wait()
	if prog != nil {
		prog.Finish()
	}
	sum.FinishedAt = c.opts.Now().UTC()
	sort.Slice(sum.Statuses, func(i, j int) bool {
		return sum.Statuses[i].Institution.OrganisationID < sum.Statuses[j].Institution.OrganisationID
	})
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return sum, cause
	}
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("ingest: collection %s interrupted: %w", sum.CollectionID, err)
	}
	if sum.GoodPages == 0 {
		return sum, ErrNothingCollected
	}
	return sum, nil
}

type institutionGroup struct {
	inst      events.Institution
	endpoints []directory.Endpoint
}

func groupByInstitution(eps []directory.Endpoint) []institutionGroup {
	idx := map[string]int{}
	var out []institutionGroup
	for _, ep := range eps {
		k := ep.OrganisationID
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, institutionGroup{inst: events.Institution{
				OrganisationID: ep.OrganisationID, OrganisationName: ep.OrganisationName, CNPJ: ep.CNPJ, Brand: ep.Brand,
			}})
		}
		out[i].endpoints = append(out[i].endpoints, ep)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].inst.OrganisationID < out[j].inst.OrganisationID })
	return out
}

// errSink marks a failure to land or publish a page: it aborts the whole run.
type errSink struct{ err error }

func (e errSink) Error() string { return e.err.Error() }
func (e errSink) Unwrap() error { return e.err }

func (c *Collector) collectInstitution(ctx context.Context, collectionID string, g institutionGroup) (events.CollectionStatus, bus.Acked, int, int, error) {
	inst := g.inst
	inst.Simulated = c.opts.Simulated
	st := events.CollectionStatus{CollectionID: collectionID, Institution: inst, StartedAt: c.opts.Now().UTC(), Endpoints: len(g.endpoints)}
	acked := bus.Acked{}
	var (
		mu        sync.Mutex
		wg        sync.WaitGroup
		good      int
		sinkErr   error
		sem       = make(chan struct{}, c.opts.EndpointsPerInstitution)
		errorsOut []string
	)
	for _, ep := range g.endpoints {
		sem <- struct{}{}
		wg.Add(1)
		go func(ep directory.Endpoint) {
			defer wg.Done()
			defer func() { <-sem }()
			offered := true
			stats, err := c.fetch.Fetch(ctx, ep, func(p opendata.Page) error {
				if notOffered(ep, p) {
					offered = false // an answer, not a page: nothing to land
					return nil
				}
				env, ok, perr := c.landPage(ctx, collectionID, inst, ep, p)
				if perr != nil {
					return perr
				}
				a, perr := c.pub.Publish(ctx, events.TopicOpenDataRaw, env)
				if perr != nil {
					return errSink{perr}
				}
				mu.Lock()
				acked.Merge(a)
				st.Pages++
				if ok {
					good++
				} else {
					st.FailedPages++
				}
				mu.Unlock()
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			st.Retries += stats.Retries
			var ke errSink
			switch {
			case errors.As(err, &ke):
				sinkErr = ke.err
			case !offered:
				st.NotOffered = append(st.NotOffered, ep.Family+"/"+ep.Product)
			case err != nil:
				errorsOut = append(errorsOut, ep.Family+"/"+ep.Product+": "+shortError(err))
			}
		}(ep)
	}
	wg.Wait()
	if sinkErr != nil {
		return st, acked, good, st.Pages, fmt.Errorf("ingest: landing or publishing a page failed, collection aborted (are Kafka and S3 up?): %w", sinkErr)
	}
	sort.Strings(st.NotOffered)
	if len(st.NotOffered) == len(g.endpoints) {
		// Every product URL derived from the base answered 404: the base
		// itself is wrong, which is a failure, not a choice of products.
		errorsOut = append(errorsOut, "every product URL derived from the directory's base URL answered HTTP 404: "+
			"check the ApiEndpoint the directory lists for this institution")
	}
	sort.Strings(errorsOut)
	st.Errors = errorsOut
	st.FinishedAt = c.opts.Now().UTC()
	switch {
	case good == 0:
		st.Status = "failed"
	case len(errorsOut) > 0 || st.FailedPages > 0:
		st.Status = "partial"
	default:
		st.Status = "ok"
	}
	env, err := events.New(collectionID+"/"+inst.OrganisationID+"/status", events.TypeOpenDataCollection, "ofp/ingest/opendata", inst.OrganisationID, st.FinishedAt, st)
	if err != nil {
		return st, acked, good, st.Pages, err
	}
	a, err := c.pub.Publish(ctx, events.TopicOpenDataRaw, env)
	if err != nil {
		return st, acked, good, st.Pages, fmt.Errorf("ingest: publish status of %s (is Kafka up?): %w", inst.OrganisationName, err)
	}
	acked.Merge(a)
	if st.Status != "ok" {
		c.log.Warn("institution collected with errors", "organisation", inst.OrganisationName, "brand", inst.Brand, "status", st.Status,
			"pages", st.Pages, "failed_pages", st.FailedPages, "errors", summarise(errorsOut, 3))
	}
	return st, acked, good, st.Pages, nil
}

// notOffered reports whether p says that the institution does not offer
// ep's product: a 404 to the first page of a URL the collector derived from
// the family's base URL (2021-style directories list no products, so every
// product of the family is tried). A listed URL that answers 404 stays a
// failure: the directory says the product is there.
func notOffered(ep directory.Endpoint, p opendata.Page) bool {
	return ep.Derived && p.Number == 1 && p.StatusCode == http.StatusNotFound
}

// landPage stores the raw bytes and builds the page event. ok reports a
// 2xx answer.
func (c *Collector) landPage(ctx context.Context, collectionID string, inst events.Institution, ep directory.Endpoint, p opendata.Page) (events.Envelope, bool, error) {
	fetched := p.FetchedAt.UTC()
	if fetched.IsZero() {
		fetched = c.opts.Now().UTC()
	}
	page := events.OpenDataPage{
		CollectionID: collectionID, Institution: inst, Family: ep.Family, APIVersion: ep.Version, Product: ep.Product,
		URL: p.URL, Page: p.Number, StatusCode: p.StatusCode, FetchedAt: fetched, Body: string(p.Body),
	}
	if c.lake != nil && len(p.Body) > 0 {
		key := fmt.Sprintf("raw/opendata/dt=%s/%s/%s/%s/%s-%s-p%04d.json", fetched.Format("2006-01-02"), collectionID,
			inst.OrganisationID, orNone(ep.AuthorisationServerID), ep.Family, ep.Product, p.Number)
		if err := c.lake.Put(ctx, key, p.Body, "application/json"); err != nil {
			return events.Envelope{}, false, errSink{fmt.Errorf("land raw page in the lake: %w", err)}
		}
		page.RawObject = key
	}
	id := fmt.Sprintf("%s/%s/%s/%s/%s/%d", collectionID, inst.OrganisationID, orNone(ep.AuthorisationServerID), ep.Family, ep.Product, p.Number)
	env, err := events.NewPage(id, "ofp/ingest/opendata", inst.OrganisationID, page)
	if err != nil {
		return events.Envelope{}, false, err
	}
	return env, p.StatusCode >= 200 && p.StatusCode < 300 && p.Err == nil, nil
}

// shortError names why an endpoint failed without repeating its URL.
func shortError(err error) string {
	var se *opendata.StatusError
	if errors.As(err, &se) {
		return fmt.Sprintf("HTTP %d", se.StatusCode)
	}
	for _, known := range []error{opendata.ErrMalformedJSON, opendata.ErrTruncated, opendata.ErrBodyTooLarge, opendata.ErrTimeout,
		opendata.ErrUnsafeURL, opendata.ErrPaginationLoop, opendata.ErrMaxPages, opendata.ErrBadNext, context.DeadlineExceeded} {
		if errors.Is(err, known) {
			return strings.TrimPrefix(known.Error(), "opendata: ")
		}
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:197] + "..."
	}
	return msg
}

// summarise joins the first n lines and counts the rest.
func summarise(lines []string, n int) string {
	if len(lines) <= n {
		return strings.Join(lines, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(lines[:n], "; "), len(lines)-n)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
