package opendata

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// Dataset names (= lake prefixes = warehouse tables).
//
// Fees and rates are stored once per page content, not once per
// collection: a page row (opendata_pages) carries the content_key of what
// the page said, and opendata_fee_items / opendata_rate_items hold the
// content-derived values of that content's fee and rate rows, keyed by
// (content_key, item_index). The warehouse views opendata_fees and
// opendata_rates (DatasetFees, DatasetRates) join the two back into one row
// per fee or rate per page, with the record's own institution columns
// (record_*, NULL when the record set none) over the page's.
//
// Findings and quarantined items are stored per content the same way
// (opendata_finding_items, opendata_quarantine_items), since schema
// findings and uninterpretable fees repeat in every collection just as
// the fees do; the views opendata_findings and opendata_quarantine join
// them to the pages. A Kafka record that is not a page at all (a bad
// envelope) has no content: its quarantine row, with the page columns
// empty, goes to opendata_quarantine_rows, which the view
// opendata_quarantine includes.
const (
	DatasetFeeItems        = "opendata_fee_items"
	DatasetRateItems       = "opendata_rate_items"
	DatasetFindingItems    = "opendata_finding_items"
	DatasetQuarantineItems = "opendata_quarantine_items"
	DatasetQuarantineRows  = "opendata_quarantine_rows"
	DatasetPages           = "opendata_pages"
	DatasetCollections     = "opendata_collections"

	// The warehouse views of one row per fee (rate, finding, quarantined
	// item) per page: pages joined to their content's items. The
	// Transformer does not produce them.
	DatasetFees       = "opendata_fees"
	DatasetRates      = "opendata_rates"
	DatasetFindings   = "opendata_findings"
	DatasetQuarantine = "opendata_quarantine"
)

// LegacyDatasets are the datasets earlier versions wrote to the lake
// instead of the items: one fee, rate, finding or quarantine row per page
// per collection. The warehouse still loads them, so a rebuild reads them
// too.
var LegacyDatasets = []string{DatasetFees, DatasetRates, DatasetFindings, DatasetQuarantine}

// Datasets lists every dataset the Transformer produces.
var Datasets = []string{DatasetFeeItems, DatasetRateItems, DatasetFindingItems, DatasetQuarantineItems, DatasetQuarantineRows,
	DatasetPages, DatasetCollections}

var (
	tStr = arrow.BinaryTypes.String
	tDec = &arrow.Decimal128Type{Precision: 18, Scale: 6}
	tTS  = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tI32 = arrow.PrimitiveTypes.Int32
	tI64 = arrow.PrimitiveTypes.Int64
	tB   = arrow.FixedWidthTypes.Boolean
)

func col(name string, t arrow.DataType) arrow.Field { return arrow.Field{Name: name, Type: t} }

func nullable(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

func decCol(name string) arrow.Field { return nullable(name, tDec) }

var commonCols = []arrow.Field{
	col("collection_id", tStr), col("collected_at", tTS),
	col("organisation_id", tStr), col("organisation_name", tStr),
	col("institution_cnpj", tStr), col("institution_name", tStr),
	col("brand", tStr), col("simulated", tB),
	col("family", tStr), col("api_version", tStr), col("product", tStr), col("segment", tStr),
}

var trailingCols = []arrow.Field{
	col("src_topic", tStr), col("src_partition", tI32), col("src_offset", tI64), col("item_index", tI32),
}

func withCommon(mid ...arrow.Field) *arrow.Schema {
	fs := append(append(append([]arrow.Field{}, commonCols...), mid...), trailingCols...)
	return arrow.NewSchema(fs, nil)
}

// itemCols lead the content datasets: the content and the row's ordinal in
// its page, then the institution columns the record itself set.
var itemCols = []arrow.Field{
	col("content_key", tStr), col("item_index", tI32),
	nullable("record_institution_cnpj", tStr), nullable("record_institution_name", tStr), nullable("record_brand", tStr),
}

func itemSchema(mid ...arrow.Field) *arrow.Schema {
	return arrow.NewSchema(append(append([]arrow.Field{}, itemCols...), mid...), nil)
}

var schemas = map[string]*arrow.Schema{
	DatasetFeeItems: itemSchema(
		col("product_type", tStr), col("fee_group", tStr), col("service_code", tStr), col("service_name", tStr),
		col("charging_trigger", tStr), col("currency", tStr), decCol("minimum"), decCol("maximum"),
		decCol("band1_median"), decCol("band2_median"), decCol("band3_median"), decCol("band4_median"),
		decCol("band1_customers"), decCol("band2_customers"), decCol("band3_customers"), decCol("band4_customers"),
		col("flags", tStr),
	),
	DatasetRateItems: itemSchema(
		col("product_type", tStr), col("indexer", tStr), decCol("rate"),
		decCol("band1_rate"), decCol("band2_rate"), decCol("band3_rate"), decCol("band4_rate"),
		decCol("band1_customers"), decCol("band2_customers"), decCol("band3_customers"), decCol("band4_customers"),
		decCol("minimum_rate"), decCol("maximum_rate"), col("flags", tStr),
	),
	DatasetFindingItems: itemSchema(
		col("record_index", tI32), col("field", tStr), col("rule", tStr), col("message", tStr),
	),
	DatasetQuarantineItems: itemSchema(
		col("record_index", tI32), col("kind", tStr), col("reason", tStr), col("raw", tStr),
	),
	DatasetQuarantineRows: withCommon(
		col("url", tStr), col("page", tI32), col("record_index", tI32),
		col("kind", tStr), col("reason", tStr), col("raw", tStr),
	),
	DatasetPages: withCommon(
		col("url", tStr), col("page", tI32), col("status_code", tI32), col("bytes", tI64), col("records", tI32),
		nullable("parse_error", tStr), nullable("raw_object", tStr), col("content_key", tStr),
	),
	DatasetCollections: arrow.NewSchema(append([]arrow.Field{
		col("collection_id", tStr), col("organisation_id", tStr), col("organisation_name", tStr),
		col("institution_cnpj", tStr), col("brand", tStr), col("simulated", tB),
		col("started_at", tTS), col("finished_at", tTS), col("status", tStr),
		col("endpoints", tI32), col("pages", tI32), col("failed_pages", tI32), col("retries", tI32),
		nullable("errors", tStr),
	}, slices.Concat(trailingCols, []arrow.Field{
		nullable("not_offered", tStr), // added in warehouse schema version 8: after the source columns, as there
	})...), nil),
}

// Schema returns the Arrow schema of dataset (nil for an unknown name).
// Column order is the Parquet and warehouse column order.
func Schema(dataset string) *arrow.Schema { return schemas[dataset] }
