// Command ofpbench measures the open-data pipeline beside baselines taken in
// the same run (`make bench`). The host is shared and noisy, so only the
// ratios printed next to each figure mean anything.
//
// It prepares realistic Kafka records by collecting pages from the
// simulator (sim over a loopback listener, read with connectors/directory
// and connectors/opendata) and replicating them under other collection ids
// and institution variants, as ingest produces them (CloudEvents binary
// records), until they hold the requested number of fee rows. It then measures:
//
//  1. throughput: a plain franz-go consumer reading the whole topic with
//     the pipeline's own consumer options (pipelines.ClientOpts: the same
//     group protocol and fetch sizes; baseline) against the real pipelines.Runner (Transformer, Parquet,
//     embedded S3, DuckDB warehouse) consuming the same topic until it has
//     committed everything and the warehouse has checkpointed, with peak
//     memory of each phase; and the same Runner without the warehouse (its
//     files uploaded to another bucket and dropped), which says how much
//     of the gap to the baseline the warehouse makes, and how much time
//     the target leaves the warehouse (twice the median round's baseline,
//     less the run without it; none when that run alone takes longer).
//     The pair (baseline, pipeline) is measured -rounds times (5 by
//     default), the pipeline into
//     a new warehouse and lake each time, and the ratio reported is the
//     median: single runs move by several points on a shared host. The
//     Runner's Stats say where the pipeline's time went (transform,
//     Parquet and lake, warehouse loads), and the warehouse has a baseline
//     of its own: DuckDB alone loading the same lake objects into a bare
//     file (one thread, one transaction, checkpointed), the least the
//     engine needs to store those rows;
//  2. the fee comparison: warehouse.Store.Fees against the same SQL run by
//     a bare DuckDB connection on the lake's Parquet files (opendata_pages
//     joined to opendata_fee_items by warehouse.FeesViewSQL, the items
//     deduplicated as the warehouse stores them).
//
// Everything lives in a temporary directory that is removed at the end
// (set OFPBENCH_KEEP=1 to keep it, e.g. to study the lake's Parquet files;
// OFPBENCH_DEBUG=1 logs on stderr the Runner's batches (cut, staged,
// loaded), the warehouse's loads, checkpoint and refreshes with their
// durations, and every 100 ms the cores the pipeline phase is using). The
// throughput table gives each phase's CPU time (the whole process: Go,
// DuckDB, the in-process Kafka and S3) beside its
// elapsed time: on a shared machine the CPU time varies less, and it says
// how far a phase is from using both cores.
// It never talks to anything but its own loopback servers.
//
// The pipeline stores fees and rates once per page content and its Memo
// replays pages whose content it has stored (the topic repeats each
// variant's collections, as hourly collections repeat unchanged product
// lists): such a page costs a page row. The report says how many pages
// were replayed. With -variants equal to the number of copies every
// collection is distinct and nothing is replayed: the worst case.
package main
