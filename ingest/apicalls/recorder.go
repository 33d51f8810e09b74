package apicalls

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/internal/events"
)

// Producer is the part of a franz-go client the recorder uses. TryProduce
// never blocks: when the client's buffer is full the record fails at once
// with kgo.ErrMaxBuffered, so a slow or absent Kafka never delays a
// response. *kgo.Client satisfies it.
type Producer interface {
	TryProduce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	Flush(ctx context.Context) error
}

// Options configures a Recorder.
type Options struct {
	// ServerOrgID is this institution's organisation id in the directory
	// (serverOrgId of SERVER reports). Required.
	ServerOrgID string
	// Role is "SERVER" (default) for calls served, "CLIENT" for calls made.
	Role string
	// Topic defaults to events.TopicAPICalls.
	Topic string
	// Source names the producer in the envelope; default "ofp/holder".
	Source string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Stats counts what the recorder did since it started.
type Stats struct {
	Recorded int64 // calls seen by the middleware
	Acked    int64 // events Kafka acknowledged
	Dropped  int64 // events refused by the full client buffer (Kafka unreachable for long)
	Failed   int64 // events Kafka refused after the client's retries
	Pending  int64 // produced, not yet acknowledged: what a crash right now would lose
	// MaxPending is the highest Pending seen: the measured crash-loss window.
	MaxPending int64
}

// Recorder turns every HTTP call through its middleware into an
// events.APICall on Kafka, after the response has been written.
type Recorder struct {
	prod Producer
	opts Options
	log  *slog.Logger

	recorded, acked, dropped, failed, pending, maxPending atomic.Int64
}

// New returns a Recorder producing through prod.
func New(prod Producer, opts Options) (*Recorder, error) {
	if prod == nil {
		return nil, errors.New("apicalls: a Kafka producer is required")
	}
	if opts.ServerOrgID == "" {
		return nil, errors.New("apicalls: ServerOrgID is required (the institution's organisation id in the directory)")
	}
	if opts.Role == "" {
		opts.Role = "SERVER"
	}
	if opts.Role != "SERVER" && opts.Role != "CLIENT" {
		return nil, errors.New(`apicalls: Role must be "SERVER" or "CLIENT"`)
	}
	if opts.Topic == "" {
		opts.Topic = events.TopicAPICalls
	}
	if opts.Source == "" {
		opts.Source = "ofp/holder"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Recorder{prod: prod, opts: opts, log: opts.Logger}, nil
}

// Call is the record of the call being served. Handlers and middlewares
// inside the recorder enrich it through FromContext.
type Call struct {
	mu       sync.Mutex
	endpoint string
	client   string
	ssID     string
	info     map[string]any
}

type ctxKey struct{}

// FromContext returns the call being recorded, or nil outside the
// recorder's middleware. All methods are safe on a nil *Call.
func FromContext(ctx context.Context) *Call {
	c, _ := ctx.Value(ctxKey{}).(*Call)
	return c
}

// SetEndpoint overrides the templated endpoint (default: the pattern the
// http.ServeMux matched, without method and host).
func (c *Call) SetEndpoint(tmpl string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.endpoint = tmpl
	c.mu.Unlock()
}

// SetClient records the calling organisation and its software statement id.
func (c *Call) SetClient(orgID, softwareStatementID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.client, c.ssID = orgID, softwareStatementID
	c.mu.Unlock()
}

// Set adds one additionalInfo field (consentId, personType, status, ...).
func (c *Call) Set(key string, v any) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.info == nil {
		c.info = map[string]any{}
	}
	c.info[key] = v
	c.mu.Unlock()
}

// Middleware records every call through next.
func (rec *Recorder) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := rec.opts.Now()
		call := &Call{}
		r2 := r.WithContext(context.WithValue(r.Context(), ctxKey{}, call))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r2)
		rec.recorded.Add(1)
		rec.emit(r2, sw, call, start)
	})
}

// FapiInteractionID returns the interaction id of a call: the request's
// header when it is a UUID, else the one the handler answered with.
func fapiInteractionID(r *http.Request, w http.ResponseWriter) string {
	for _, v := range []string{r.Header.Get("x-fapi-interaction-id"), w.Header().Get("x-fapi-interaction-id")} {
		if _, err := uuid.Parse(v); err == nil && len(v) == 36 {
			return v
		}
	}
	return ""
}

func (rec *Recorder) emit(r *http.Request, sw *statusWriter, call *Call, start time.Time) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	call.mu.Lock()
	ev := events.APICall{
		FapiInteractionID: fapiInteractionID(r, sw),
		Endpoint:          call.endpoint,
		StatusCode:        status,
		HTTPMethod:        r.Method,
		ClientOrgID:       call.client,
		ServerOrgID:       rec.opts.ServerOrgID,
		Timestamp:         events.PCMTimestamp(start),
		ProcessTimespan:   rec.opts.Now().Sub(start).Milliseconds(),
		Role:              rec.opts.Role,
		AdditionalInfo:    map[string]any{},
	}
	if rec.opts.Role == "CLIENT" {
		ev.ClientSSID = call.ssID
	}
	for k, v := range call.info {
		ev.AdditionalInfo[k] = v
	}
	call.mu.Unlock()
	if ev.Endpoint == "" {
		ev.Endpoint = TemplateOf(r.Pattern)
	}
	if ev.Endpoint == "" {
		ev.Endpoint = "unmatched"
	}
	if ev.FapiInteractionID == "" {
		// A call without a valid interaction id is still a call: give it
		// one so it can be counted (it will be UNPAIRED at the PCM).
		ev.FapiInteractionID = uuid.NewString()
	}
	env, err := events.New(uuid.NewString(), events.TypeAPICall, rec.opts.Source, ev.FapiInteractionID, start, ev)
	if err != nil {
		rec.failed.Add(1)
		rec.log.Error("api-call event not encoded", "endpoint", ev.Endpoint, "err", err)
		return
	}
	b, err := json.Marshal(env)
	if err != nil {
		rec.failed.Add(1)
		rec.log.Error("api-call event not encoded", "endpoint", ev.Endpoint, "err", err)
		return
	}
	rec.produce(&kgo.Record{Topic: rec.opts.Topic, Key: []byte(env.Key), Value: b, Timestamp: start})
}

func (rec *Recorder) produce(kr *kgo.Record) {
	n := rec.pending.Add(1)
	for {
		m := rec.maxPending.Load()
		if n <= m || rec.maxPending.CompareAndSwap(m, n) {
			break
		}
	}
	rec.prod.TryProduce(context.Background(), kr, func(_ *kgo.Record, err error) {
		rec.pending.Add(-1)
		switch {
		case err == nil:
			rec.acked.Add(1)
		case errors.Is(err, kgo.ErrMaxBuffered):
			rec.dropped.Add(1)
			rec.log.Warn("api-call event dropped: the Kafka client buffer is full (is Kafka reachable?)")
		default:
			rec.failed.Add(1)
			rec.log.Error("api-call event not delivered to Kafka", "topic", kr.Topic, "err", err)
		}
	})
}

// Stats returns the counters.
func (rec *Recorder) Stats() Stats {
	return Stats{
		Recorded: rec.recorded.Load(), Acked: rec.acked.Load(), Dropped: rec.dropped.Load(),
		Failed: rec.failed.Load(), Pending: rec.pending.Load(), MaxPending: rec.maxPending.Load(),
	}
}

// Flush waits until every event produced so far is acknowledged (or ctx
// ends). Call it on graceful shutdown after the HTTP server stopped
// accepting calls, so no recorded call is lost.
func (rec *Recorder) Flush(ctx context.Context) error {
	if err := rec.prod.Flush(ctx); err != nil {
		return err
	}
	return nil
}

// TemplateOf turns a ServeMux pattern ("GET api.bank/open-banking/x/{id}")
// into the templated endpoint PCM wants ("/open-banking/x/{id}"). A
// trailing "{$}" or "{name...}" wildcard is kept as the spec writes it.
func TemplateOf(pattern string) string {
	p := pattern
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = strings.TrimSpace(p[i+1:])
	}
	if i := strings.IndexByte(p, '/'); i > 0 {
		p = p[i:] // drop the host
	}
	p = strings.TrimSuffix(p, "{$}")
	if strings.HasSuffix(p, "...}") {
		if i := strings.LastIndex(p, "{"); i >= 0 {
			p = p[:i] + "{" + strings.TrimSuffix(p[i+1:], "...}") + "}"
		}
	}
	return p
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
