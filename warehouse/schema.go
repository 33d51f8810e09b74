package warehouse

import (
	"fmt"
	"strings"
)

// SchemaVersion is the version of the table layout this code creates. Bump it
// whenever a dataset column changes; Open recreates the tables of an older
// warehouse (it is derived data: rebuild it from the lake afterwards).
//
// Version 2 added the derived comparison tables fees_latest and rates_latest;
// version 3 added their collection_id column (loads refresh them from the
// latest collections only). Files of versions 1 and 2 are migrated in place
// (the derived tables are rebuilt from the dataset tables). The
// refresh_pending table (latest.go) came later without a version bump: Open
// creates it, empty, in a version-3 file that lacks it, and a read-only
// open of such a file finds nothing pending.
const SchemaVersion = 3

// Column is one column of a dataset: its name and DuckDB type.
type Column struct {
	Name string
	Type string
}

// DuckDB types of the dataset contract.
const (
	typeStr  = "VARCHAR"
	typeDec  = "DECIMAL(18,6)"
	typeTS   = "TIMESTAMP WITH TIME ZONE"
	typeI32  = "INTEGER"
	typeI64  = "BIGINT"
	typeBool = "BOOLEAN"
)

// Dataset names, equal to the table names and to the lake prefixes.
const (
	DatasetFees        = "opendata_fees"
	DatasetRates       = "opendata_rates"
	DatasetFindings    = "opendata_findings"
	DatasetQuarantine  = "opendata_quarantine"
	DatasetPages       = "opendata_pages"
	DatasetCollections = "opendata_collections"

	// The API-call record (pipelines/apicalls): one row per regulated call,
	// PCM-shaped, and the records that could not be read.
	DatasetAPICalls         = "api_calls"
	DatasetAPICallsRejected = "api_calls_rejected"
)

func cols(pairs ...string) []Column {
	out := make([]Column, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Column{Name: pairs[i], Type: pairs[i+1]})
	}
	return out
}

var commonLeading = cols(
	"collection_id", typeStr, "collected_at", typeTS, "organisation_id", typeStr, "organisation_name", typeStr,
	"institution_cnpj", typeStr, "institution_name", typeStr, "brand", typeStr, "simulated", typeBool,
	"family", typeStr, "api_version", typeStr, "product", typeStr, "segment", typeStr,
)

var commonTrailing = cols("src_topic", typeStr, "src_partition", typeI32, "src_offset", typeI64, "item_index", typeI32)

func dataset(middle ...string) []Column {
	var out []Column
	out = append(out, commonLeading...)
	out = append(out, cols(middle...)...)
	return append(out, commonTrailing...)
}

// datasets holds the column contract of every dataset, in Parquet column order.
var datasets = map[string][]Column{
	DatasetFees: dataset(
		"product_type", typeStr, "fee_group", typeStr, "service_code", typeStr, "service_name", typeStr, "charging_trigger", typeStr,
		"currency", typeStr, "minimum", typeDec, "maximum", typeDec,
		"band1_median", typeDec, "band2_median", typeDec, "band3_median", typeDec, "band4_median", typeDec,
		"band1_customers", typeDec, "band2_customers", typeDec, "band3_customers", typeDec, "band4_customers", typeDec,
		"flags", typeStr,
	),
	DatasetRates: dataset(
		"product_type", typeStr, "indexer", typeStr, "rate", typeDec,
		"band1_rate", typeDec, "band2_rate", typeDec, "band3_rate", typeDec, "band4_rate", typeDec,
		"band1_customers", typeDec, "band2_customers", typeDec, "band3_customers", typeDec, "band4_customers", typeDec,
		"minimum_rate", typeDec, "maximum_rate", typeDec, "flags", typeStr,
	),
	DatasetFindings: dataset(
		"url", typeStr, "page", typeI32, "record_index", typeI32, "field", typeStr, "rule", typeStr, "message", typeStr,
	),
	DatasetQuarantine: dataset(
		"url", typeStr, "page", typeI32, "record_index", typeI32, "kind", typeStr, "reason", typeStr, "raw", typeStr,
	),
	DatasetPages: dataset(
		"url", typeStr, "page", typeI32, "status_code", typeI32, "bytes", typeI64, "records", typeI32,
		"parse_error", typeStr, "raw_object", typeStr,
	),
	DatasetAPICalls: append(cols(
		"event_id", typeStr, "fapi_interaction_id", typeStr, "endpoint", typeStr, "http_method", typeStr,
		"status_code", typeI32, "role", typeStr, "client_org_id", typeStr, "server_org_id", typeStr,
		"client_ss_id", typeStr, "called_at", typeTS, "process_timespan_ms", typeI64,
		"consent_id", typeStr, "person_type", typeStr, "additional_info", typeStr,
	), commonTrailing...),
	DatasetAPICallsRejected: append(cols("reason", typeStr, "raw", typeStr), commonTrailing...),
	DatasetCollections: append(cols(
		"collection_id", typeStr, "organisation_id", typeStr, "organisation_name", typeStr, "institution_cnpj", typeStr,
		"brand", typeStr, "simulated", typeBool, "started_at", typeTS, "finished_at", typeTS, "status", typeStr,
		"endpoints", typeI32, "pages", typeI32, "failed_pages", typeI32, "retries", typeI32, "errors", typeStr,
	), commonTrailing...),
}

// Datasets returns the dataset names the warehouse knows, sorted.
func Datasets() []string {
	return []string{DatasetAPICalls, DatasetAPICallsRejected, DatasetCollections, DatasetFees, DatasetFindings, DatasetPages, DatasetQuarantine, DatasetRates}
}

// DatasetColumns returns the column contract of a dataset (a copy), or false
// when the dataset is unknown.
func DatasetColumns(name string) ([]Column, bool) {
	c, ok := datasets[name]
	if !ok {
		return nil, false
	}
	return append([]Column(nil), c...), true
}

// createTableSQL is the DDL of one dataset table.
func createTableSQL(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", name)
	for i, c := range datasets[name] {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %s %s", c.Name, c.Type)
	}
	b.WriteString("\n)")
	return b.String()
}

const createLoadsSQL = `CREATE TABLE IF NOT EXISTS loads (
  dataset VARCHAR NOT NULL,
  topic VARCHAR NOT NULL,
  partition INTEGER NOT NULL,
  first_offset BIGINT NOT NULL,
  last_offset BIGINT NOT NULL,
  rows BIGINT NOT NULL,
  loaded_at TIMESTAMP WITH TIME ZONE NOT NULL
)`

const createSchemaVersionSQL = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL,
  applied_at TIMESTAMP WITH TIME ZONE NOT NULL
)`
