// Package pipelines runs ofp's Kafka consumers. A Runner consumes one topic
// in a consumer group and gathers the records of several polls into a
// batch, each partition's records transformed by its own Transformer
// (pipelines/opendata for the open-data topic) as they arrive, partitions
// in parallel. A batch is sunk once it holds FlushBytes of record values,
// once FlushInterval has passed, or as soon as the topic is idle: each
// partition's Arrow records are written as one Parquet object per dataset
// named after the partition's offset range, uploaded to the lake and
// staged as local files; the warehouse then loads them in one transaction
// (a BatchesLoader loads every partition's files at once, a plain Loader
// one partition at a time), and only then are the offsets committed.
// One batch is sunk in the background while the next is gathered, so the
// warehouse load and the transformation overlap; a batch is committed
// before the next one is sunk. Rebalances wait while anything consumed is
// not committed (under continuous input the runner drains every two flush
// intervals to let them through); a graceful stop sinks and commits what
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
