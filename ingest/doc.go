// Package ingest holds ofp's collectors: they drive connectors, land the raw
// bytes they get in object storage for replay, and put one versioned event
// per raw page on Kafka. The open-data collector (Collector) walks every
// open-data endpoint the directory lists, a bounded number of institutions
// at a time and a bounded number of endpoints per institution, and
// publishes each institution's collection status when it is done.
//
// Collectors never transform data for analytics: that is the pipelines'
// job, so that a pipeline change can be replayed over the raw record.
package ingest
