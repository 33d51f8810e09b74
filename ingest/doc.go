// Package ingest holds ofp's collectors: they drive connectors, land the raw
// bytes they get in object storage for replay, and put one versioned event
// per raw page on Kafka. The open-data collector (Collector) walks every
// open-data endpoint the directory lists, a bounded number of institutions
// at a time and a bounded number of endpoints per institution, and
// publishes each institution's collection status when it is done.
//
// A status is ok, partial (some endpoint or page failed) or failed (no page
// answered). A 2021-style directory lists only a family's base URL, so the
// collector tries every product of the family there: a 404 to the first
// page of such a derived URL says the institution does not offer the
// product, and goes into the status's NotOffered list, neither a page nor
// an error. A 404 at a URL the directory lists, or after the first page,
// is a failure; so is a base URL none of whose products answers.
//
// Collectors never transform data for analytics: that is the pipelines'
// job, so that a pipeline change can be replayed over the raw record.
package ingest
