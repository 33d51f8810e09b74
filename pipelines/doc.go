// Package pipelines runs ofp's Kafka consumers. A Runner consumes one topic
// in a consumer group and gathers the records of several polls into a
// batch, each partition's records transformed by its own Transformer
// (pipelines/opendata for the open-data topic) as they arrive, partitions
// in parallel. Its poller (poller.go) polls ahead of the batch, up to
// PrefetchBytes of record values, so that Kafka fetches and decompresses
// the next records while these are transformed; small fetches (4 MiB,
// 1 MiB a partition, compressed) keep that flow even and the memory low.
// A batch is sunk once it holds FlushBytes of record values, once
// FlushInterval has passed, as soon as the topic is idle for IdleWait, or
// at once when it holds FlushBytes/16 and has reached its partitions'
// high watermarks (waiting could only delay it): each
// partition's Arrow records are written as one Parquet object per dataset
// named after the partition's offset range, uploaded to the lake and
// staged as local files; the warehouse then loads them in one transaction
// (a BatchesLoader loads every partition's files at once, a plain Loader
// one partition at a time), and only then are the offsets committed.
// One batch is sunk in the background while the next is gathered, so the
// warehouse load and the transformation overlap; a batch is committed
// before the next one is sunk. Rebalances wait while anything consumed is
// not committed: the poller alone calls PollRecords and AllowRebalance, and
// lets a rebalance through once the runner has committed every poll it
// handed over; under continuous input the runner asks it for a drain
// every two flush intervals (it stops polling, sends a marker, and the
// runner sinks and commits everything before it). A graceful stop sinks and commits what
// it holds within StopFlushTimeout. A crash at any point
// re-consumes from the last commit: the object is overwritten under the
// same name or, if the batch boundaries moved, the warehouse's
// range-replacing load keeps every row exactly once. Loads run one at a
// time; Stats gives the time spent transforming, staging and loading, so
// an operator can tell which stage bounds a pipeline (cmd/ofp exports it
// as ofp_pipeline_stage_seconds_total).
//
// Rebuild reloads the warehouse from the lake alone, many source ranges
// per warehouse transaction (up to 64 ranges or 256 MiB of objects), so
// that its time follows the data, not the number of objects.
//
// Pipelines never serve HTTP and never fetch from institutions.
package pipelines
