// Package pipelines runs ofp's Kafka consumers. A Runner consumes one topic
// in a consumer group and, for every polled batch of a partition, hands the
// records to a Transformer (pipelines/opendata for the open-data topic),
// writes each dataset's Arrow record as a Parquet object with a name derived
// from the batch's offsets, loads the batch's files into the warehouse in one
// transaction, and only then commits the offsets. Partitions of one poll are
// sunk in parallel, each by its own Transformer. A crash at any point re-consumes from the last
// commit: the object is overwritten under the same name or, if the batch
// boundaries moved, the warehouse's range-replacing load keeps every row
// exactly once.
//
// Rebuild reloads the warehouse from the lake alone.
//
// Pipelines never serve HTTP and never fetch from institutions.
package pipelines
