// Package report renders warehouse comparison results for people and files:
// aligned text tables for terminals, CSV and JSON (the same encodings as the
// analytics API), and plain-text horizontal bar charts of the weighted
// estimates of one comparison group; and the same for histories (history.go):
// a table per series (an institution's fee or rate) with each collection's
// figures and what changed since the one before, and a chart of its
// weighted estimate by collection, Δ marking the changes; and for operators
// (ops.go) the data-quality report per institution and collection, the
// collection runs and the quarantined items.
//
// Every rendering labels simulated figures. Decimals are shown exactly as the
// warehouse returns them, only trailing zeros beyond two decimals trimmed in
// tables (never rounded); charts scale bars, not numbers.
//
// It owns no data and never queries the warehouse itself.
package report
