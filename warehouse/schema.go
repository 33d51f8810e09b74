package warehouse

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// SchemaVersion is the version of the table layout this code creates. Bump it
// whenever a dataset column changes; Open recreates the tables of an older
// warehouse empty (it is derived data: rebuild it from the lake afterwards),
// except files of versions 5 and 6, upgraded in place with their rows
// (OpenReadOnly reads them as they are).
//
// Version 2 added the derived comparison tables fees_latest and rates_latest;
// version 3 added their collection_id column; version 4 stores fees and rates
// once per page content (opendata_fee_items, opendata_rate_items, joined to
// opendata_pages by content_key) and makes opendata_fees and opendata_rates
// views with the former tables' columns; version 5 stores findings and
// quarantined items once per page content too (opendata_finding_items,
// opendata_quarantine_items) and makes opendata_findings and
// opendata_quarantine views; version 6 adds the content index
// (opendata_content_index), built in place from the item tables of a
// version 5 file; version 7 adds opendata_orphan_contents, filled in place
// from the pages and the content index of a version 5 or 6 file; version 8
// adds the not_offered column of opendata_collections (the products an
// institution does not offer), added in place to the table of an older file
// (addedColumns); version 9 keeps the item datasets as Parquet files in the
// warehouse's items directory, the item tables becoming views over them
// (itemfiles.go; migrate moves an older file's item rows into a file).
const SchemaVersion = 9

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

// Dataset names, equal to the table (or view) names and to the lake prefixes.
const (
	// DatasetFees and DatasetRates are views (Views): one row per fee or
	// rate of a page, the page's columns joined to its content's items.
	// LoadBatches still accepts lake files of these names written before
	// schema version 4 (see LoadBatches).
	DatasetFees  = "opendata_fees"
	DatasetRates = "opendata_rates"
	// DatasetFeeItems and DatasetRateItems hold the fees and rates of a
	// page content once, keyed by (content_key, item_index); they have no
	// source columns.
	DatasetFeeItems  = "opendata_fee_items"
	DatasetRateItems = "opendata_rate_items"
	// DatasetFindings and DatasetQuarantine are views (Views) too: the
	// findings and quarantined items of a page, its columns joined to its
	// content's finding and quarantine items, plus the rows stored with
	// no content (DatasetFindingRows, DatasetQuarantineRows). LoadBatches
	// loads lake files of these names, written before schema version 5,
	// into those row tables.
	DatasetFindings        = "opendata_findings"
	DatasetQuarantine      = "opendata_quarantine"
	DatasetFindingItems    = "opendata_finding_items"
	DatasetQuarantineItems = "opendata_quarantine_items"
	// DatasetQuarantineRows holds the quarantine rows of Kafka records that
	// are no page (no content; the page columns are empty) and those of
	// lake files written before schema version 5; DatasetFindingRows only
	// the latter.
	DatasetQuarantineRows = "opendata_quarantine_rows"
	DatasetFindingRows    = "opendata_finding_rows"
	DatasetPages          = "opendata_pages"
	DatasetCollections    = "opendata_collections"

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

// sourceColumns are the columns that name a row's Kafka record.
var sourceColumns = []string{"src_topic", "src_partition", "src_offset", "item_index"}

func dataset(middle []Column) []Column {
	var out []Column
	out = append(out, commonLeading...)
	out = append(out, middle...)
	return append(out, commonTrailing...)
}

// The item columns of fees and rates (between the common leading and
// trailing columns of the views).
var (
	feeMiddle = cols(
		"product_type", typeStr, "fee_group", typeStr, "service_code", typeStr, "service_name", typeStr, "charging_trigger", typeStr,
		"currency", typeStr, "minimum", typeDec, "maximum", typeDec,
		"band1_median", typeDec, "band2_median", typeDec, "band3_median", typeDec, "band4_median", typeDec,
		"band1_customers", typeDec, "band2_customers", typeDec, "band3_customers", typeDec, "band4_customers", typeDec,
		"flags", typeStr,
	)
	rateMiddle = cols(
		"product_type", typeStr, "indexer", typeStr, "rate", typeDec,
		"band1_rate", typeDec, "band2_rate", typeDec, "band3_rate", typeDec, "band4_rate", typeDec,
		"band1_customers", typeDec, "band2_customers", typeDec, "band3_customers", typeDec, "band4_customers", typeDec,
		"minimum_rate", typeDec, "maximum_rate", typeDec, "flags", typeStr,
	)
	findingMiddle    = cols("record_index", typeI32, "field", typeStr, "rule", typeStr, "message", typeStr)
	quarantineMiddle = cols("record_index", typeI32, "kind", typeStr, "reason", typeStr, "raw", typeStr)
	// notePageColumns are the page columns of a finding or quarantine row
	// before its item columns.
	notePageColumns = cols("url", typeStr, "page", typeI32)
)

// itemLeading are the first columns of an item dataset: the content and
// the item's ordinal in it, then the institution columns of the record's
// own data set (participant / company); NULL means the page's value.
var itemLeading = cols(
	"content_key", typeStr, "item_index", typeI32,
	"record_institution_cnpj", typeStr, "record_institution_name", typeStr, "record_brand", typeStr,
)

// recordOverrides maps a view column to the item column that overrides the
// page's value when not NULL.
var recordOverrides = map[string]string{
	"institution_cnpj": "record_institution_cnpj",
	"institution_name": "record_institution_name",
	"brand":            "record_brand",
}

func items(middle []Column) []Column {
	return append(append([]Column(nil), itemLeading...), middle...)
}

// datasets holds the column contract of every dataset table, in Parquet
// column order.
var datasets = map[string][]Column{
	DatasetFeeItems:        items(feeMiddle),
	DatasetRateItems:       items(rateMiddle),
	DatasetFindingItems:    items(findingMiddle),
	DatasetQuarantineItems: items(quarantineMiddle),
	DatasetFindingRows:     dataset(append(append([]Column{}, notePageColumns...), findingMiddle...)),
	DatasetQuarantineRows:  dataset(append(append([]Column{}, notePageColumns...), quarantineMiddle...)),
	DatasetPages: dataset(cols(
		"url", typeStr, "page", typeI32, "status_code", typeI32, "bytes", typeI64, "records", typeI32,
		"parse_error", typeStr, "raw_object", typeStr, "content_key", typeStr,
	)),
	DatasetAPICalls: append(cols(
		"event_id", typeStr, "fapi_interaction_id", typeStr, "endpoint", typeStr, "http_method", typeStr,
		"status_code", typeI32, "role", typeStr, "client_org_id", typeStr, "server_org_id", typeStr,
		"client_ss_id", typeStr, "called_at", typeTS, "process_timespan_ms", typeI64,
		"consent_id", typeStr, "person_type", typeStr, "additional_info", typeStr,
	), commonTrailing...),
	DatasetAPICallsRejected: append(cols("reason", typeStr, "raw", typeStr), commonTrailing...),
	DatasetCollections: slices.Concat(cols(
		"collection_id", typeStr, "organisation_id", typeStr, "organisation_name", typeStr, "institution_cnpj", typeStr,
		"brand", typeStr, "simulated", typeBool, "started_at", typeTS, "finished_at", typeTS, "status", typeStr,
		"endpoints", typeI32, "pages", typeI32, "failed_pages", typeI32, "retries", typeI32, "errors", typeStr,
	), commonTrailing, addedColumns[DatasetCollections]),
}

// addedColumns are the columns a dataset gained after its table was first
// laid out, last in its contract: migrate adds them to the table of an
// older file (where they are NULL), a lake file written before them loads
// without them, and a read-only handle on an older file reads them as
// empty (Store.hasColumn).
var addedColumns = map[string][]Column{
	// Version 8: the products the institution does not offer, one
	// "family/product" per line (events.CollectionStatus.NotOffered).
	DatasetCollections: cols("not_offered", typeStr),
}

// addColumnsSQL returns the statements that add to an existing table the
// added columns it lacks.
func addColumnsSQL() []string {
	var out []string
	for _, ds := range slices.Sorted(maps.Keys(addedColumns)) {
		for _, c := range addedColumns[ds] {
			out = append(out, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", ds, c.Name, c.Type))
		}
	}
	return out
}

// viewSpec is a view of a page dataset joined to an item dataset, plus,
// when rows is set, the rows of that table (stored with no content).
type viewSpec struct {
	items     string   // item dataset table
	pageCols  []Column // page columns between the common leading ones and the item ones
	middle    []Column // item columns between those and the trailing ones
	rows      string   // table of the view's rows without a content, or ""
	comparing bool     // a comparison table (latest.go) is derived from it
}

var views = map[string]viewSpec{
	DatasetFees:       {items: DatasetFeeItems, middle: feeMiddle, comparing: true},
	DatasetRates:      {items: DatasetRateItems, middle: rateMiddle, comparing: true},
	DatasetFindings:   {items: DatasetFindingItems, pageCols: notePageColumns, middle: findingMiddle, rows: DatasetFindingRows},
	DatasetQuarantine: {items: DatasetQuarantineItems, pageCols: notePageColumns, middle: quarantineMiddle, rows: DatasetQuarantineRows},
}

// columns returns the column contract of a view: the common leading
// columns, the page and item columns, the source columns.
func (v viewSpec) columns() []Column {
	return dataset(append(append([]Column{}, v.pageCols...), v.middle...))
}

// itemViews maps each item dataset table (content, keyed by (content_key,
// item_index), with no source columns) to the view over it.
var itemViews = func() map[string]viewSpec {
	out := map[string]viewSpec{}
	for _, v := range views {
		out[v.items] = v
	}
	return out
}()

// itemTables returns the item dataset tables, sorted.
func itemTables() []string {
	out := make([]string, 0, len(itemViews))
	for t := range itemViews {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Datasets returns the names of the dataset tables LoadBatches loads, sorted.
func Datasets() []string {
	return []string{DatasetAPICalls, DatasetAPICallsRejected, DatasetCollections, DatasetFeeItems, DatasetFindingItems,
		DatasetFindingRows, DatasetPages, DatasetQuarantineItems, DatasetQuarantineRows, DatasetRateItems}
}

// Views returns the names of the views over the dataset tables, sorted:
// opendata_fees, opendata_findings, opendata_quarantine and
// opendata_rates, one row per fee, finding, quarantined item or rate of a
// page (the columns the tables of these names had before schema version 4
// or 5, and of the Parquet files of these datasets written before it).
func Views() []string {
	return []string{DatasetFees, DatasetFindings, DatasetQuarantine, DatasetRates}
}

// DatasetColumns returns the column contract of a dataset table or of a
// view (a copy), or false when the name is unknown.
func DatasetColumns(name string) ([]Column, bool) {
	if v, ok := views[name]; ok {
		return v.columns(), true
	}
	c, ok := datasets[name]
	if !ok {
		return nil, false
	}
	return append([]Column(nil), c...), true
}

// FeesViewSQL returns the SELECT that defines the opendata_fees view, over
// any page and fee item relations: table names, or Parquet scans such as
// "read_parquet('pages/*.parquet')". The benchmark runs the comparison SQL
// on the lake files through it (FeeComparisonSQL("(" + FeesViewSQL(...) + ")")).
// A page's fees are the items of its content_key; an item's record_*
// columns, when not NULL, replace the page's institution columns.
func FeesViewSQL(pagesRel, itemsRel string) string {
	return views[DatasetFees].joinSQL(pagesRel, itemsRel)
}

// RatesViewSQL is FeesViewSQL for opendata_rates and rate items.
func RatesViewSQL(pagesRel, itemsRel string) string {
	return views[DatasetRates].joinSQL(pagesRel, itemsRel)
}

// joinSQL is the page part of a view: pages p joined to items i.
func (v viewSpec) joinSQL(pagesRel, itemsRel string) string {
	return "SELECT " + v.selectList("p", "i") + "\nFROM " + pagesRel + " p JOIN " + itemsRel + " i ON i.content_key = p.content_key"
}

// selectList is the column list of the view over pages aliased p and
// items aliased i.
func (v viewSpec) selectList(p, i string) string {
	var out []string
	for _, c := range v.columns() {
		out = append(out, viewColumnExpr(c.Name, p, i)+" AS "+c.Name)
	}
	return strings.Join(out, ", ")
}

// viewColumnExpr is the expression of a view column over pages aliased p
// and items aliased i.
func viewColumnExpr(name, p, i string) string {
	if o, ok := recordOverrides[name]; ok {
		return "coalesce(" + i + "." + o + ", " + p + "." + name + ")"
	}
	if name == "item_index" {
		return i + ".item_index"
	}
	for _, c := range commonLeading {
		if c.Name == name {
			return p + "." + name
		}
	}
	if slices.Contains(sourceColumns, name) || slices.ContainsFunc(notePageColumns, func(c Column) bool { return c.Name == name }) {
		return p + "." + name
	}
	return i + "." + name
}

// legacyContentKey is the content_key given to the pages and the fee and
// rate rows of lake files written before schema version 4: one content per
// Kafka record, so that the views show exactly the rows those files held.
const legacyContentKey = "'legacy/' || src_topic || '/' || src_partition || '/' || src_offset"

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

// contentIndexTable lists, per item table, the contents whose items it
// holds, each with the distinct values its items give the comparison key's
// record overrides (keyOverrides). A load finds the new contents and the
// comparison keys of the pages it touched here, in a table of about one
// row per content, instead of in the item tables (tens of rows per
// content, growing with every new content). Maintained by loadItems in the
// same transaction as the items.
const contentIndexTable = "opendata_content_index"

// upgradedInPlace is the oldest version whose files keep their rows: Open
// builds the content index of a version 5 file and the orphan contents of
// a version 5 or 6 file (migrate); OpenReadOnly reads them as they are
// (reads use neither).
const upgradedInPlace = 5

// orphansSince is the version that added opendata_orphan_contents: migrate
// fills it from the pages of an older file.
const orphansSince = 7

// orphanContentsTable lists the contents of loaded pages that no
// comparison's item table (opendata_fee_items, opendata_rate_items) held
// when the page was loaded: a page loaded before its content's items
// (another partition's batch, loaded in a later call), or a page whose
// content has no fees or rates at all (those stay listed: one row per
// distinct content, few). A load that brings the items of a listed
// content queues the keys of its pages and removes it, so that only then
// does a load look through opendata_pages for the pages of a content:
// otherwise it reads only its own pages, whatever the warehouse holds.
const orphanContentsTable = "opendata_orphan_contents"

const createOrphanContentsSQL = "CREATE TABLE IF NOT EXISTS " + orphanContentsTable + " (content_key VARCHAR NOT NULL)"

// comparingContentsSQL selects the contents whose items the comparisons'
// item tables hold (from the content index).
func comparingContentsSQL() string { return comparingIndexSQL("content_key") }

// comparingIndexSQL selects cols of the content index entries of the
// comparisons' item tables.
func comparingIndexSQL(cols string) string {
	var tables []string
	for _, c := range comparisonSpecs {
		tables = append(tables, "'"+views[c.dataset].items+"'")
	}
	return `SELECT ` + cols + ` FROM ` + contentIndexTable + ` WHERE item_table IN (` + strings.Join(tables, ", ") + `)`
}

// fillOrphanContentsSQL lists the contents of the pages the comparisons'
// content index lacks (a file of a version before the list).
func fillOrphanContentsSQL() string {
	return `INSERT INTO ` + orphanContentsTable + ` SELECT DISTINCT p.content_key FROM ` + DatasetPages + ` p
ANTI JOIN (` + comparingContentsSQL() + `) i ON i.content_key = p.content_key
WHERE p.content_key IS NOT NULL`
}

func createContentIndexSQL() string {
	cols := []string{"item_table VARCHAR NOT NULL", "content_key VARCHAR NOT NULL"}
	for _, o := range keyOverrides() {
		cols = append(cols, o+" VARCHAR")
	}
	return "CREATE TABLE IF NOT EXISTS " + contentIndexTable + " (\n  " + strings.Join(cols, ",\n  ") + "\n)"
}

// indexContentsSQL inserts into the content index the entries of the rows
// of sel (a relation with content_key and the keyOverrides columns) of
// item table table.
func indexContentsSQL(table, sel string) string {
	cols := append([]string{"content_key"}, keyOverrides()...)
	return fmt.Sprintf("INSERT INTO %s SELECT DISTINCT '%s', %s FROM (%s)", contentIndexTable, table, strings.Join(cols, ", "), sel)
}

const createSchemaVersionSQL = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL,
  applied_at TIMESTAMP WITH TIME ZONE NOT NULL
)`

// createViewSQL is the DDL of one view.
func createViewSQL(name string) string {
	v := views[name]
	q := "CREATE OR REPLACE VIEW " + name + " AS " + v.joinSQL(DatasetPages, v.items)
	if v.rows != "" {
		var cols []string
		for _, c := range v.columns() {
			cols = append(cols, c.Name)
		}
		q += "\nUNION ALL SELECT " + strings.Join(cols, ", ") + " FROM " + v.rows
	}
	return q
}
