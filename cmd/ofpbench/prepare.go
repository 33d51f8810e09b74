package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ofp-dev/ofp/connectors/directory"
	"github.com/ofp-dev/ofp/connectors/opendata"
	"github.com/ofp-dev/ofp/internal/bus"
	"github.com/ofp-dev/ofp/internal/events"
	"github.com/ofp-dev/ofp/internal/oas"
	odpipe "github.com/ofp-dev/ofp/pipelines/opendata"
	"github.com/ofp-dev/ofp/sim"
)

// basePage is one page collected from the simulator, with what a variant
// needs to rewrite it.
type basePage struct {
	page events.OpenDataPage // Body, URL, family... as collected; institution and collection are replaced per copy
	cnpj string              // 14-digit CNPJ the payload carries (rewritten per variant)
}

// baseInstitution is one collected institution.
type baseInstitution struct {
	inst      events.Institution
	endpoints int
	pages     []basePage
	errors    []string // endpoints whose walk failed
}

// dataset describes the prepared topic.
type dataset struct {
	Institutions   int   // institutions collected from the simulator
	BasePages      int   // pages collected from the simulator
	Variants       int   // institution variants the copies rotate through
	Copies         int   // collection runs replicated onto the topic
	Records        int64 // Kafka records (pages + collection statuses)
	Bytes          int64 // key + value bytes of those records
	FeeRowsPerCopy int64 // opendata_fees rows one copy yields (Transformer over copy 0)
	FeeRows        int64 // Copies × FeeRowsPerCopy
	Acked          bus.Acked
}

// collectBase serves the simulator on a loopback listener and collects every
// endpoint of the first n institutions (in directory order of organisation
// id) the way the collector does.
func collectBase(ctx context.Context, n int) ([]baseInstitution, error) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	eco, err := sim.New(sim.DefaultConfig(base))
	if err != nil {
		srv.Listener.Close()
		return nil, fmt.Errorf("start the simulator: %w", err)
	}
	srv.Config.Handler = eco.Handler()
	srv.Start()
	defer srv.Close()

	cnpjByAS := map[string]string{}
	complete := map[string]bool{}
	for _, o := range eco.Organisations() {
		complete[o.ID] = o.Complete
		for _, in := range o.Institutions {
			cnpjByAS[in.AuthorisationServerID] = in.CNPJ
		}
	}

	dopts := directory.DefaultOptions()
	dopts.Logger = slog.New(slog.DiscardHandler)
	dc, err := directory.NewClient(dopts)
	if err != nil {
		return nil, err
	}
	orgs, err := dc.Participants(ctx, base+"/participants")
	if err != nil {
		return nil, fmt.Errorf("read the simulated directory: %w", err)
	}
	eps, _ := directory.Discover(orgs, directory.DiscoverOptions{})

	// Institutions in organisation id order, the ones serving every product
	// first, so that a modest set covers every product.
	byOrg := map[string][]directory.Endpoint{}
	var ids []string
	for _, ep := range eps {
		if _, ok := byOrg[ep.OrganisationID]; !ok {
			ids = append(ids, ep.OrganisationID)
		}
		byOrg[ep.OrganisationID] = append(byOrg[ep.OrganisationID], ep)
	}
	sort.SliceStable(ids, func(i, j int) bool { return complete[ids[i]] && !complete[ids[j]] })
	if len(ids) > n {
		ids = ids[:n]
	}

	od, err := opendata.New(opendata.DefaultOptions())
	if err != nil {
		return nil, err
	}
	var out []baseInstitution
	for _, id := range ids {
		first := byOrg[id][0]
		bi := baseInstitution{
			inst: events.Institution{OrganisationID: first.OrganisationID, OrganisationName: first.OrganisationName,
				CNPJ: first.CNPJ, Brand: first.Brand, Simulated: true},
			endpoints: len(byOrg[id]),
		}
		for _, ep := range byOrg[id] {
			// Failed pages are emitted too and travel like the collector's;
			// the walk's error only goes into the collection status.
			_, err := od.Fetch(ctx, ep, func(p opendata.Page) error {
				bi.pages = append(bi.pages, basePage{
					cnpj: cnpjByAS[ep.AuthorisationServerID],
					page: events.OpenDataPage{Family: ep.Family, APIVersion: ep.Version, Product: ep.Product,
						URL: p.URL, Page: p.Number, StatusCode: p.StatusCode, Body: string(p.Body)},
				})
				return nil
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				bi.errors = append(bi.errors, ep.Family+"/"+ep.Product+": "+err.Error())
			}
		}
		out = append(out, bi)
	}
	return out, nil
}

// copyPlan says how the base set is replicated: copy c is collection run c
// of variant c % variants of every base institution.
type copyPlan struct {
	base     []baseInstitution
	variants int
	start    time.Time
}

// variantCNPJ changes the 8-digit root of a 14-digit CNPJ (same length, so
// validation sees the same shapes). Variant 0 is the original.
func variantCNPJ(cnpj string, v int) string {
	if v == 0 || len(cnpj) != 14 {
		return cnpj
	}
	root, err := strconv.Atoi(cnpj[:8])
	if err != nil {
		return cnpj
	}
	return fmt.Sprintf("%08d%s", (root+v*7919)%100000000, cnpj[8:])
}

func variantInstitution(in events.Institution, v int) events.Institution {
	if v == 0 {
		return in
	}
	out := in
	out.OrganisationID = fmt.Sprintf("%s-v%02d", in.OrganisationID, v)
	out.OrganisationName = fmt.Sprintf("%s (variante %d)", in.OrganisationName, v)
	out.Brand = fmt.Sprintf("%s (variante %d)", in.Brand, v)
	out.CNPJ = variantCNPJ(in.CNPJ, v)
	return out
}

// envelopes returns copy c's envelopes: every page, then one collection
// status per institution, built as ingest.Collector builds them.
func (cp copyPlan) envelopes(c int) ([]events.Envelope, error) {
	v := c % cp.variants
	at := cp.start.Add(time.Duration(c) * time.Hour)
	collectionID := fmt.Sprintf("%s-%08x", at.Format("20060102T150405Z"), c)
	var out []events.Envelope
	for _, bi := range cp.base {
		inst := variantInstitution(bi.inst, v)
		pages := 0
		for _, bp := range bi.pages {
			p := bp.page
			p.CollectionID, p.Institution, p.FetchedAt = collectionID, inst, at
			if v != 0 && bp.cnpj != "" {
				p.Body = string(bytes.ReplaceAll([]byte(p.Body), []byte(`"`+bp.cnpj+`"`), []byte(`"`+variantCNPJ(bp.cnpj, v)+`"`)))
			}
			p.RawObject = fmt.Sprintf("raw/opendata/dt=%s/%s/%s/%s-%s-p%04d.json", at.Format("2006-01-02"), collectionID,
				inst.OrganisationID, p.Family, p.Product, p.Page)
			id := fmt.Sprintf("%s/%s/%s/%s/%d", collectionID, inst.OrganisationID, p.Family, p.Product, p.Page)
			env, err := events.NewPage(id, "ofp/ingest/opendata", inst.OrganisationID, p) // as ingest.Collector does
			if err != nil {
				return nil, err
			}
			out = append(out, env)
			pages++
		}
		st := events.CollectionStatus{CollectionID: collectionID, Institution: inst, StartedAt: at,
			FinishedAt: at.Add(time.Minute), Status: "ok", Endpoints: bi.endpoints, Pages: pages, Errors: bi.errors}
		if len(bi.errors) > 0 {
			st.Status = "partial"
		}
		env, err := events.New(collectionID+"/"+inst.OrganisationID+"/status", events.TypeOpenDataCollection,
			"ofp/ingest/opendata", inst.OrganisationID, st.FinishedAt, st)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// feeRowsOf runs the real Transformer over envs and counts the rows of the
// opendata_fees view: every page times its content's fee items.
func feeRowsOf(v *oas.Validator, envs []events.Envelope) (int64, error) {
	tr := odpipe.NewTransformer(v, memory.NewGoAllocator(), nil)
	defer tr.Release()
	for i, e := range envs {
		rec, err := bus.Record(events.TopicOpenDataRaw, e)
		if err != nil {
			return 0, err
		}
		rec.Offset = int64(i)
		tr.AddRecord(rec)
	}
	recs := tr.Flush()
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	return odpipe.ViewRows(recs[odpipe.DatasetPages], recs[odpipe.DatasetFeeItems]), nil
}

// prepare collects the base set and produces copies onto the topic until
// they hold at least feeRows fee rows.
func prepare(ctx context.Context, brokers []string, v *oas.Validator, o options, progress io.Writer) (dataset, error) {
	var ds dataset
	t0 := time.Now()
	base, err := collectBase(ctx, o.Institutions)
	if err != nil {
		return ds, err
	}
	for _, bi := range base {
		ds.BasePages += len(bi.pages)
	}
	ds.Institutions = len(base)
	plan := copyPlan{base: base, variants: max(o.Variants, 1), start: time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)}
	first, err := plan.envelopes(0)
	if err != nil {
		return ds, err
	}
	ds.FeeRowsPerCopy, err = feeRowsOf(v, first)
	if err != nil {
		return ds, err
	}
	if ds.FeeRowsPerCopy == 0 {
		return ds, fmt.Errorf("the simulator's pages yield no fee rows: check sim and the Transformer")
	}
	ds.Copies = int((int64(o.FeeRows) + ds.FeeRowsPerCopy - 1) / ds.FeeRowsPerCopy)
	ds.Variants = min(plan.variants, ds.Copies)
	plan.variants = ds.Variants
	ds.FeeRows = int64(ds.Copies) * ds.FeeRowsPerCopy
	fmt.Fprintf(progress, "· collected %d pages of %d institutions from the simulator in %s; one copy = %d fee rows -> %d copies over %d institution variants\n",
		ds.BasePages, ds.Institutions, time.Since(t0).Round(time.Millisecond), ds.FeeRowsPerCopy, ds.Copies, ds.Variants)

	// kfake refuses produce batches above its message.max.bytes (1 MiB);
	// bus.NewClient allows 16 MiB, which bulk producing would reach.
	cl, err := bus.NewClient(bus.Config{Brokers: brokers, ClientID: "ofpbench-producer"}, kgo.ProducerBatchMaxBytes(1_000_000))
	if err != nil {
		return ds, err
	}
	defer cl.Close()
	if err := bus.EnsureTopics(ctx, cl, bus.DefaultPartitions, events.TopicOpenDataRaw); err != nil {
		return ds, err
	}
	pub := bus.NewPublisher(cl)
	ds.Acked = bus.Acked{}
	t1 := time.Now()
	last := time.Now()
	for c := range ds.Copies {
		envs, err := plan.envelopes(c)
		if err != nil {
			return ds, err
		}
		for _, e := range envs {
			rec, err := bus.Record(events.TopicOpenDataRaw, e)
			if err != nil {
				return ds, err
			}
			ds.Records++
			ds.Bytes += recordBytes(rec)
		}
		const chunk = 256
		for i := 0; i < len(envs); i += chunk {
			a, err := pub.Publish(ctx, events.TopicOpenDataRaw, envs[i:min(i+chunk, len(envs))]...)
			if err != nil {
				return ds, err
			}
			ds.Acked.Merge(a)
		}
		if time.Since(last) > 5*time.Second || c == ds.Copies-1 {
			last = time.Now()
			fmt.Fprintf(progress, "· produced %d/%d copies (%d records, %.0f MB) in %s\n",
				c+1, ds.Copies, ds.Records, float64(ds.Bytes)/1e6, time.Since(t1).Round(time.Millisecond))
		}
	}
	return ds, nil
}
