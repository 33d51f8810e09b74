// Package warehouse owns ofp's DuckDB warehouse: the tables of every
// open-data dataset (one per dataset of the column contract), the views
// opendata_fees, opendata_rates, opendata_findings and opendata_quarantine
// over them, a loads log, a
// schema_version table, the derived comparison tables and the
// refresh_pending queue; idempotent loading of local Parquet files
// produced by the pipelines; the SQL models (fee and interest-rate
// comparison, history, data quality, collection status), a typed Go query
// API and the analytics HTTP API.
//
// It never reads or writes the lake (S3) itself — the caller downloads
// Parquet objects with minio-go and hands over local paths — and it never
// lets DuckDB fetch extensions (autoinstall/autoload are off; httpfs is not
// used). The warehouse is derived data: `ofp warehouse rebuild` (Reset, then
// Load every lake object) recreates it from the lake.
//
// # Concurrency and locking
//
// DuckDB allows one writing process per database file. The server that owns
// the file (Open) serves analysts over the HTTP API. Commands that need the
// data while a server runs use OpenSnapshot: it opens read-only, and if the
// file is locked it copies the file to a temporary directory and opens the
// copy with its write-ahead log (the writer checkpoints at most every 30 s,
// so a copy rarely races a checkpoint; if it does, the open fails: retry).
// A read-only handle cannot refresh the comparison tables (below): on a
// file whose writer stopped without Close and left refreshes pending, its
// comparisons read the views, as a writer's do until its refresh.
//
// # Fees and rates: pages and contents (schema version 4)
//
// Hourly collections republish mostly unchanged pages, so fees and rates
// are stored once per page CONTENT: opendata_pages has one row per page
// collected, with a content_key naming its content (a hash the pipeline
// computes); opendata_fee_items and opendata_rate_items hold a content's
// fees and rates once, keyed by (content_key, item_index), with the
// record's own institution columns (record_*; NULL = the page's). The
// views opendata_fees and opendata_rates join them back (FeesViewSQL,
// RatesViewSQL) with exactly the columns the tables of those names had:
// one row per fee or rate of a page, unique by (src_topic, src_partition,
// src_offset, item_index). Every query, model and API reads the views.
// Datasets lists the tables, Views the views; DatasetColumns knows both.
//
// Since schema version 9, the four item tables are views over a DuckDB
// table (<table>_stored) and Parquet files (itemfiles.go): a load copies
// the files the pipeline wrote, as they are, into the items directory
// beside the database file (ItemsDir: <file>.items/<table>/) and
// registers them in item_files in its transaction; a view reads only
// registered files, so uncommitted items stay invisible and Open removes
// the files of a load that crashed. Writing the items into DuckDB's own
// format had been most of a pipeline load's cost. Many files cost every
// query of a view, and a refresh that needs old contents would scan them
// whole, so a load that leaves a table more than 16 files (or more than
// 500,000 items in files) folds them into its DuckDB table in bulk, as
// log-structured stores merge; the folded files are removed 10 minutes
// later, so that queries and snapshots that began before can still read
// them. The file and its items directory move together: Replace (how
// `ofp warehouse rebuild` swaps in a new warehouse) and Remove; DuckDB's
// file_search_path is the items directory, so the views name their files
// relatively. A snapshot copy reads the items of the file it
// copied (they never change).
//
// Since schema version 5, findings and quarantined items are stored the
// same way (opendata_finding_items, opendata_quarantine_items: schema
// findings and uninterpretable fees repeat in every collection as the fees
// do), joined to the pages by the views opendata_findings and
// opendata_quarantine with the page's url and page number. Those views
// also hold the rows of opendata_finding_rows and opendata_quarantine_rows:
// the quarantine rows of Kafka records that are no page (no content, empty
// page columns) and the rows of lake files written before version 5.
//
// # Loading
//
// LoadBatches loads the Parquet files of one or more source ranges (the
// partitions of a pipeline poll) in one transaction and appends to the
// loads log. Files of datasets with source columns (all but the items)
// replace the dataset's rows whose (src_topic, src_partition) match and
// src_offset is in [First, Last], then are inserted BY NAME, so loading a
// file twice or a re-batched overlapping range leaves every (src_topic,
// src_partition, src_offset, item_index) exactly once; a file whose rows
// fall outside its declared range is refused (ErrSourceMismatch). Item
// files are loaded first: only the items of contents not stored yet are
// stored, each (content_key, item_index) once — a file all of whose
// contents are new, each pair once, with the contract's column types, as
// it is; the new items of another file in a file DuckDB writes, cast to
// the contract (the pipeline writes a
// content's items once per process, and again after a batch that held
// them failed, so they come again after a restart or a failure), and
// items are never deleted. The contents an item table holds are listed in
// opendata_content_index (schema version 6: one row per content and
// distinct key override, the record's CNPJ and brand, written with the
// items): a load finds the new contents, and the comparison keys of the
// pages it touched, there instead of in the item tables, so that its cost
// follows what it brings, not what the warehouse holds. A page may be
// loaded in an earlier call than its content's items; its fees and rates
// appear when those arrive. Such a page's content is listed in
// opendata_orphan_contents (schema version 7: the contents of loaded pages
// that the comparisons' item tables lacked when the page was loaded; a
// content with no fees or rates at all stays listed, once), so a load
// looks through opendata_pages only when it brings the items of a listed
// content: with 5 million pages in the table, a benchmark round's refresh
// queueing took 65-72 ms instead of 266-363 ms. Lake files written
// before version 4 (opendata_fees / opendata_rates rows, pages without
// content_key) load as pages and items of the content
// 'legacy/<topic>/<partition>/<offset>', and opendata_findings /
// opendata_quarantine files of before version 5 load as they are into
// opendata_finding_rows / opendata_quarantine_rows (by source range), so a
// rebuild of an old lake works.
//
// The same transaction queues, in refresh_pending, every
// (organisation_id, institution_cnpj, brand, product) whose view rows the
// load changed, with their collections: those of the pages it replaced
// (read before the delete) and inserted, and those of every page whose
// content got new items. The derived comparison rows (below) of the queued
// keys are refreshed later, all at once: in the background
// Options.RefreshDelay after the last load (2 s by default; at least every
// 30 s while loads keep coming), by RefreshPending, and in Close. Until
// then Fees and Rates answer with the reference SQL on the views
// (reference.go): exact at once, several times slower than the derived
// tables, and no query waits for a refresh. Consecutive loads touch the same
// keys, so coalescing spares a refresh per load. fees_latest and
// rates_latest are refreshed side by side, each in its own transaction on
// its own connection. A refresh runs beside
// loads (its own lock, its own connections): it refreshes the keys of the
// loads committed when it starts, and a load committed meanwhile stays
// pending for the next one (a load always queues its keys, even those
// pending already: a refresh beside it may take the pending row). The
// refresh first finds, at page
// level, each queued key's latest collections (any, simulated, real) and
// reads only their rows, so it costs about the rows it derives, whatever
// the loads did (latest.go). The queue is committed with the loads, so a
// crash loses nothing: Open refreshes it.
// Loads run with Options.LoadThreads DuckDB threads (1 by default: they
// share the host with the pipeline that feeds them) and a large
// checkpoint_threshold, so that a commit does not also checkpoint: the
// write-ahead log is folded into the file at most every 30 s from Open, by
// Checkpoint (with all Threads: it runs when loading is done), and on
// Close. The file is attached with row groups of 32,768 rows (a
// quarter of DuckDB's default): a load that brings a table at least that
// many rows writes them to the file, compressed, as it goes, instead of
// logging them at commit and compressing them at the checkpoint, which
// then has little left to do when the pipeline has finished. Strings are
// stored without FSST compression (a quarter of the cost of writing them;
// dictionary compression covers this data).
//
// Stats (stats.go) counts what a Store has done since it was opened: its
// loads (committed and failed), the rows they inserted and their time per
// step (plan, items, other rows, refresh queue, commit), its checkpoints,
// its refreshes and its folds of item files, with their time. cmd/ofp
// exports them at /metrics as ofp_warehouse_*; ofpbench prints the loads'
// steps.
//
// A file of an older schema version is recreated empty when opened for
// writing (with a warning: run `ofp warehouse rebuild`); OpenReadOnly
// refuses it (ErrSchemaMismatch). Versions 5 to 8 are the exception:
// Open builds the content index of a version 5 file from its item tables,
// lists the orphan contents of a version 5 or 6 file from its pages, adds
// the columns added since, renames the item tables to their _stored
// names and keeps every row; OpenReadOnly reads them as they are.
//
// # Physical design of the comparisons
//
// FeeComparisonSQL / RateComparisonSQL are the reference: plain SQL over any
// source (the view, or the lake's pages and items Parquet files joined by
// FeesViewSQL / RatesViewSQL); the benchmark runs them on the lake files as
// the baseline. Store.Fees / Store.Rates return the same rows faster
// from derived tables, fees_latest and rates_latest (latest.go): only the rows
// a comparison can return (latest collection, one row per group key), with
// the weighted estimate computed and the output columns pre-formatted, and
// six keep_* flags for the filters that act before the latest-collection step
// (simulated any/true/false × flagged rows included/excluded). A query is then
// a filtered scan and one sort in DuckDB; ranks and group statistics are
// computed in one streaming pass in Go (compare.go). TestStoreMatchesReferenceSQL
// asserts both give identical rows for many filters and corner cases.
// The derived rows are built from the pages (narrowed first to the
// refreshed keys' organisations, products and collections) joined to the
// candidate items of their contents (per content, the first item of each
// dedup group and the first clean one: a row kept is the first of its group
// in its page); the rows kept are read back whole by source position.
// `Refresh` rebuilds the derived tables (after writing dataset tables other
// than through Load) and empties refresh_pending.
//
// # Comparison rules
//
//   - Latest collection: per (organisation_id, institution_cnpj, brand,
//     product) the collection_id with the latest collected_at is used (ties
//     on collected_at: the greatest collection_id); older collections only
//     appear in the history. (Per product, so that one failed endpoint in the
//     latest run does not drop the institution's other products.) With the
//     simulated filter, the latest collection among those rows.
//   - One row per institution and group: if a key appears twice in one
//     collection (a redelivered page), the row with the lowest source
//     position is kept.
//   - Group key: fees (product, segment, product_type, service_code,
//     currency) — currency is part of the key because amounts in different
//     currencies are not comparable (non-BRL rows are flagged upstream);
//     rates (product, segment, product_type, indexer).
//   - Weighted estimate = Σ band_i value × band_i customer share, computed
//     exactly in DECIMAL(38,12) and cast to DECIMAL(18,6), which ROUNDS HALF
//     AWAY FROM ZERO (0.0000005 -> 0.000001). NULL if any of the eight inputs
//     is NULL. It is an estimate: the band values are band medians.
//   - Rank: standard competition ranking (1, 2, 2, 4), 1 = cheapest/lowest,
//     ordered by weighted estimate, then band-1 value; NULL estimates rank
//     last. Institutions with equal estimate and band-1 value share a rank
//     (the name only orders them for display).
//   - Group statistics: group_size (institutions in the group), group_min,
//     group_max, spread = group_max − group_min (of the weighted estimates;
//     null when it does not fit DECIMAL(18,6)),
//     cheapest / most_expensive = institution name with the lowest / highest
//     estimate (same tie-breaks; null when no estimate exists).
//   - Filters product, segment, product_type, service_code/indexer, currency,
//     simulated and include_flagged define the compared population (they act
//     before ranking); institution (CNPJ exact, or case-insensitive substring
//     of name or brand) only selects which ranked rows are returned.
//
// # CONTRACT: analytics HTTP API (/analytics/v1)
//
// All endpoints are GET, take filters in the query string, answer
// Cache-Control: no-store, and accept format=json (default) or format=csv
// (a header row; arrays spread as band1_…band4_ columns; flags ";"-joined;
// NULL as an empty cell). Unknown or repeated parameters and bad values are
// 400 with {"errors":[{"code":"INVALID_PARAMETER","title","detail"}],
// "meta":{"requestDateTime"}}; other methods 405; server faults 500 (no
// details leaked). JSON bodies are arrays ([] when empty). Decimals are JSON
// strings with exactly 6 decimals (e.g. "45.000000"), never numbers; NULL
// decimals are null. Times are RFC 3339 UTC. Every row has "simulated": true
// when its figures come from ofp's simulator; consumers must label them.
//
// Paging: every endpoint also takes limit (1..100000, default 10000) and
// offset (>= 0, default 0) and returns rows offset..offset+limit-1 of the
// full, ordered answer (ranks and group statistics always describe the whole
// population, not the page). When more rows follow, the response carries
// `Link: </analytics/v1/...?...&limit=L&offset=O+L>; rel="next"`; no Link
// header means this is the last page.
//
//	GET /analytics/v1/fees   ?product&segment(personal|business)&product_type&service_code
//	                         &institution&currency&include_flagged(default true)&simulated
//	  [{institution_cnpj, institution_name, brand, organisation_id, product, segment,
//	    product_type, service_code, service_name, currency, minimum, maximum,
//	    band_medians[4], band_customer_rates[4] (band 1 first), weighted_estimate,
//	    rank, collection_id, collected_at, flags[] (empty = clean), simulated,
//	    group_size, group_min, group_max, spread, cheapest, most_expensive}]
//	GET /analytics/v1/rates  ?product&segment&product_type&indexer&institution
//	                         &include_flagged&simulated
//	  [{institution_cnpj, institution_name, brand, organisation_id, product, segment,
//	    product_type, indexer, rate, minimum_rate, maximum_rate, band_rates[4],
//	    band_customer_rates[4], weighted_estimate, rank (1 = lowest), collection_id,
//	    collected_at, flags, simulated, group_size, group_min, group_max, spread,
//	    cheapest (lowest), most_expensive (highest)}]
//	GET /analytics/v1/fees/history  ?institution&product&segment&product_type
//	                                &service_code&currency&simulated&changes_only
//	  [{identity and key fields, collection_id, collected_at, minimum, maximum,
//	    band_medians, band_customer_rates, weighted_estimate, flags, simulated,
//	    previous{minimum, maximum, band_medians, band_customer_rates,
//	    weighted_estimate} | null, previous_collected_at | null, changed,
//	    changed_fields[]}]   one point per collection, oldest first per series
//	GET /analytics/v1/rates/history ?institution&product&segment&product_type
//	                                &indexer&simulated&changes_only   (same shape, rate fields)
//	GET /analytics/v1/quality       ?institution&all (default: latest collection only)
//	  [{organisation_id, institution_cnpj, institution_name, brand, simulated,
//	    collection_id, collected_at, category (pages|pages_with_errors|finding|
//	    quarantine), kind (quarantine kind), detail (rule or reason), count}]
//	GET /analytics/v1/collections   ?institution&all (default: latest run per institution)
//	  [{collection_id, organisation_id, organisation_name, institution_cnpj, brand,
//	    simulated, started_at, finished_at, status, endpoints, pages, failed_pages,
//	    retries, errors[], not_offered[]}]   not_offered: the products
//	    ("family/product") whose URL, derived from the family's base URL,
//	    answered 404: endpoints the institution does not offer, not failures
//	GET /analytics/v1/quarantine    ?institution&kind (page|record|fee|rate)&collection_id
//	  [{organisation_id, institution_cnpj, institution_name, brand, simulated,
//	    collection_id, collected_at, product, url, page, record_index, kind,
//	    reason, raw}]   newest first; raw is the item as received (capped at 64 KiB)
package warehouse
