package warehouse

import "fmt"

// The SQL models. Each comparison query reads from a source that is either a
// table or view name (opendata_fees) or a parenthesised query such as
// FeesViewSQL over read_parquet(...) relations of the lake's pages and items,
// so that a benchmark can run the very same SQL on the lake files. Parameters are positional ($n); pass
// FeeFilter.Args / RateFilter.Args.
//
// Common rules (see doc.go, CONTRACT):
//   - latest collection: per (organisation_id, institution_cnpj, brand,
//     product) the collection_id with the latest collected_at (ties: the
//     greatest collection_id), among the rows the simulated filter keeps;
//   - one row per institution and group: duplicates of a key inside one
//     collection (a page delivered twice) keep the row with the lowest
//     (src_topic, src_partition, src_offset, item_index);
//   - weighted estimate: Σ band value × band customer share computed exactly
//     (DECIMAL(38,12)) and cast to DECIMAL(18,6), which rounds half away from
//     zero; NULL when any of the eight inputs is NULL (or on overflow);
//   - rank: standard competition ranking (1,2,2,4) ordered by weighted
//     estimate, then band-1 value, NULL estimates last (equal prices share a
//     rank; the name only orders them for display);
//   - the population filters (product, segment, type, code/indexer, currency,
//     simulated, include_flagged) act before ranking; the institution filter
//     only selects which ranked rows are returned.

// weighted returns the exact weighted-estimate expression over the four bands
// of value columns band<i>_<valueSuffix> and band<i>_customers.
//
// The sum is exact in DECIMAL(38,12). Casting a DECIMAL(38,12) down to
// DECIMAL(18,6) divides a 128-bit integer, which DuckDB does ~20x slower than
// the same cast from DECIMAL(18,12) (64-bit); so sums below 10^6 in magnitude
// (they fit DECIMAL(18,12)) take the 64-bit path and larger ones the 128-bit
// TRY_CAST. Both round half away from zero to the same value, and DuckDB
// evaluates each CASE branch only for the rows that select it
// (TestWeightedFastPathIsExact checks the boundaries).
func weighted(valueSuffix string) string {
	e := ""
	for i := 1; i <= 4; i++ {
		if i > 1 {
			e += " + "
		}
		e += fmt.Sprintf("CAST(band%[1]d_%[2]s AS DECIMAL(38,6)) * CAST(band%[1]d_customers AS DECIMAL(38,6))", i, valueSuffix)
	}
	return roundEstimate("(" + e + ")")
}

// roundEstimate rounds an exact DECIMAL(38,12) expression to DECIMAL(18,6)
// (NULL when it does not fit), taking the 64-bit path when it can.
func roundEstimate(sum string) string {
	return "(CASE WHEN abs(" + sum + ") < 1000000 THEN CAST(CAST(" + sum + " AS DECIMAL(18,12)) AS DECIMAL(18,6))" +
		" ELSE TRY_CAST(" + sum + " AS DECIMAL(18,6)) END)"
}

// latestCollection is the aggregate that picks, per (organisation_id,
// institution_cnpj, brand, product), the collection of the row with the
// latest collected_at; ties on collected_at go to the greatest collection_id
// so that the choice is deterministic. Rows without collected_at or
// collection_id are ignored. cond further restricts the rows ("" = none).
func latestCollection(cond string) string {
	filter := "collected_at IS NOT NULL"
	if cond != "" {
		filter += " AND " + cond
	}
	return "arg_max(collection_id, (collected_at, collection_id)) FILTER (WHERE " + filter + ")"
}

// FeeComparisonSQL returns the fee comparison query over source (a table name
// or a read_parquet(...) expression). Its parameters, in order, are those of
// FeeFilter.Args: $1 product, $2 segment, $3 product_type, $4 service_code,
// $5 currency, $6 simulated, $7 include_flagged, $8 institution.
func FeeComparisonSQL(source string) string {
	return fmt.Sprintf(`WITH src AS (
  SELECT * FROM %[1]s
  WHERE ($1 IS NULL OR product = $1) AND ($6 IS NULL OR simulated = $6)
),
latest AS (
  SELECT organisation_id, institution_cnpj, brand, product, %[3]s AS collection_id
  FROM src GROUP BY organisation_id, institution_cnpj, brand, product
),
picked AS (
  SELECT s.*, row_number() OVER (
      PARTITION BY s.organisation_id, s.institution_cnpj, s.brand, s.product, s.segment, s.product_type, s.service_code, s.currency
      ORDER BY s.src_topic, s.src_partition, s.src_offset, s.item_index) AS dup
  FROM src s JOIN latest l
    ON s.organisation_id = l.organisation_id AND s.institution_cnpj = l.institution_cnpj
   AND s.brand = l.brand AND s.product = l.product AND s.collection_id = l.collection_id
  WHERE ($2 IS NULL OR s.segment = $2) AND ($3 IS NULL OR s.product_type = $3)
    AND ($4 IS NULL OR s.service_code = $4) AND ($5 IS NULL OR s.currency = $5)
    AND ($7 OR coalesce(s.flags, '') = '')
),
est AS (
  SELECT *, %[2]s AS weighted_estimate FROM picked WHERE dup = 1
),
ranked AS (
  SELECT *,
    rank() OVER (PARTITION BY product, segment, product_type, service_code, currency
      ORDER BY weighted_estimate ASC NULLS LAST, band1_median ASC NULLS LAST) AS rnk,
    count(*) OVER (PARTITION BY product, segment, product_type, service_code, currency) AS group_size,
    min(weighted_estimate) OVER (PARTITION BY product, segment, product_type, service_code, currency) AS group_min,
    max(weighted_estimate) OVER (PARTITION BY product, segment, product_type, service_code, currency) AS group_max,
    first_value(CASE WHEN weighted_estimate IS NOT NULL THEN institution_name END) OVER (
      PARTITION BY product, segment, product_type, service_code, currency
      ORDER BY weighted_estimate ASC NULLS LAST, band1_median ASC NULLS LAST, institution_name, brand, institution_cnpj
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS cheapest,
    first_value(CASE WHEN weighted_estimate IS NOT NULL THEN institution_name END) OVER (
      PARTITION BY product, segment, product_type, service_code, currency
      ORDER BY weighted_estimate DESC NULLS LAST, band1_median DESC NULLS LAST, institution_name, brand, institution_cnpj
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS most_expensive
  FROM est
)
SELECT coalesce(institution_cnpj, ''), coalesce(institution_name, ''), coalesce(brand, ''), coalesce(organisation_id, ''),
  coalesce(product, ''), coalesce(segment, ''), coalesce(product_type, ''), coalesce(service_code, ''),
  coalesce(service_name, ''), coalesce(currency, ''),
  minimum::VARCHAR, maximum::VARCHAR,
  band1_median::VARCHAR, band2_median::VARCHAR, band3_median::VARCHAR, band4_median::VARCHAR,
  band1_customers::VARCHAR, band2_customers::VARCHAR, band3_customers::VARCHAR, band4_customers::VARCHAR,
  weighted_estimate::VARCHAR, rnk, coalesce(collection_id, ''), collected_at, coalesce(flags, ''), coalesce(simulated, false),
  group_size, group_min::VARCHAR, group_max::VARCHAR, TRY_CAST(CAST(group_max AS DECIMAL(19,6)) - group_min AS DECIMAL(18,6))::VARCHAR,
  cheapest, most_expensive
FROM ranked
WHERE ($8 IS NULL OR institution_cnpj = $8 OR contains(lower(institution_name), lower($8)) OR contains(lower(brand), lower($8)))
ORDER BY product, segment, product_type, service_code, currency, rnk, institution_name, brand, institution_cnpj, organisation_id`,
		source, weighted("median"), latestCollection(""))
}

// RateComparisonSQL returns the interest-rate comparison query over source.
// Parameters, in order (RateFilter.Args): $1 product, $2 segment,
// $3 product_type, $4 indexer, $5 simulated, $6 include_flagged, $7 institution.
func RateComparisonSQL(source string) string {
	return fmt.Sprintf(`WITH src AS (
  SELECT * FROM %[1]s
  WHERE ($1 IS NULL OR product = $1) AND ($5 IS NULL OR simulated = $5)
),
latest AS (
  SELECT organisation_id, institution_cnpj, brand, product, %[3]s AS collection_id
  FROM src GROUP BY organisation_id, institution_cnpj, brand, product
),
picked AS (
  SELECT s.*, row_number() OVER (
      PARTITION BY s.organisation_id, s.institution_cnpj, s.brand, s.product, s.segment, s.product_type, s.indexer
      ORDER BY s.src_topic, s.src_partition, s.src_offset, s.item_index) AS dup
  FROM src s JOIN latest l
    ON s.organisation_id = l.organisation_id AND s.institution_cnpj = l.institution_cnpj
   AND s.brand = l.brand AND s.product = l.product AND s.collection_id = l.collection_id
  WHERE ($2 IS NULL OR s.segment = $2) AND ($3 IS NULL OR s.product_type = $3)
    AND ($4 IS NULL OR s.indexer = $4) AND ($6 OR coalesce(s.flags, '') = '')
),
est AS (
  SELECT *, %[2]s AS weighted_estimate FROM picked WHERE dup = 1
),
ranked AS (
  SELECT *,
    rank() OVER (PARTITION BY product, segment, product_type, indexer
      ORDER BY weighted_estimate ASC NULLS LAST, band1_rate ASC NULLS LAST) AS rnk,
    count(*) OVER (PARTITION BY product, segment, product_type, indexer) AS group_size,
    min(weighted_estimate) OVER (PARTITION BY product, segment, product_type, indexer) AS group_min,
    max(weighted_estimate) OVER (PARTITION BY product, segment, product_type, indexer) AS group_max,
    first_value(CASE WHEN weighted_estimate IS NOT NULL THEN institution_name END) OVER (
      PARTITION BY product, segment, product_type, indexer
      ORDER BY weighted_estimate ASC NULLS LAST, band1_rate ASC NULLS LAST, institution_name, brand, institution_cnpj
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS cheapest,
    first_value(CASE WHEN weighted_estimate IS NOT NULL THEN institution_name END) OVER (
      PARTITION BY product, segment, product_type, indexer
      ORDER BY weighted_estimate DESC NULLS LAST, band1_rate DESC NULLS LAST, institution_name, brand, institution_cnpj
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS most_expensive
  FROM est
)
SELECT coalesce(institution_cnpj, ''), coalesce(institution_name, ''), coalesce(brand, ''), coalesce(organisation_id, ''),
  coalesce(product, ''), coalesce(segment, ''), coalesce(product_type, ''), coalesce(indexer, ''),
  rate::VARCHAR, minimum_rate::VARCHAR, maximum_rate::VARCHAR,
  band1_rate::VARCHAR, band2_rate::VARCHAR, band3_rate::VARCHAR, band4_rate::VARCHAR,
  band1_customers::VARCHAR, band2_customers::VARCHAR, band3_customers::VARCHAR, band4_customers::VARCHAR,
  weighted_estimate::VARCHAR, rnk, coalesce(collection_id, ''), collected_at, coalesce(flags, ''), coalesce(simulated, false),
  group_size, group_min::VARCHAR, group_max::VARCHAR, TRY_CAST(CAST(group_max AS DECIMAL(19,6)) - group_min AS DECIMAL(18,6))::VARCHAR,
  cheapest, most_expensive
FROM ranked
WHERE ($7 IS NULL OR institution_cnpj = $7 OR contains(lower(institution_name), lower($7)) OR contains(lower(brand), lower($7)))
ORDER BY product, segment, product_type, indexer, rnk, institution_name, brand, institution_cnpj, organisation_id`,
		source, weighted("rate"), latestCollection(""))
}

// feeHistorySQL lists one row per (institution, fee key, collection) in time
// order. Parameters: $1 product, $2 segment, $3 product_type,
// $4 service_code, $5 currency, $6 simulated, $7 institution.
var feeHistorySQL = `WITH src AS (
  SELECT * FROM opendata_fees
  WHERE ($1 IS NULL OR product = $1) AND ($2 IS NULL OR segment = $2) AND ($3 IS NULL OR product_type = $3)
    AND ($4 IS NULL OR service_code = $4) AND ($5 IS NULL OR currency = $5) AND ($6 IS NULL OR simulated = $6)
    AND ($7 IS NULL OR institution_cnpj = $7 OR contains(lower(institution_name), lower($7)) OR contains(lower(brand), lower($7)))
),
picked AS (
  SELECT *, row_number() OVER (
      PARTITION BY organisation_id, institution_cnpj, brand, product, segment, product_type, service_code, currency, collection_id
      ORDER BY src_topic, src_partition, src_offset, item_index) AS dup
  FROM src
)
SELECT coalesce(institution_cnpj, ''), coalesce(institution_name, ''), coalesce(brand, ''), coalesce(organisation_id, ''),
  coalesce(product, ''), coalesce(segment, ''), coalesce(product_type, ''), coalesce(service_code, ''),
  coalesce(service_name, ''), coalesce(currency, ''),
  coalesce(collection_id, ''), collected_at,
  minimum::VARCHAR, maximum::VARCHAR,
  band1_median::VARCHAR, band2_median::VARCHAR, band3_median::VARCHAR, band4_median::VARCHAR,
  band1_customers::VARCHAR, band2_customers::VARCHAR, band3_customers::VARCHAR, band4_customers::VARCHAR,
  ` + weighted("median") + `::VARCHAR, coalesce(flags, ''), coalesce(simulated, false)
FROM picked WHERE dup = 1
ORDER BY organisation_id, institution_cnpj, brand, product, segment, product_type, service_code, currency, collected_at, collection_id`

// rateHistorySQL: parameters $1 product, $2 segment, $3 product_type,
// $4 indexer, $5 simulated, $6 institution.
var rateHistorySQL = `WITH src AS (
  SELECT * FROM opendata_rates
  WHERE ($1 IS NULL OR product = $1) AND ($2 IS NULL OR segment = $2) AND ($3 IS NULL OR product_type = $3)
    AND ($4 IS NULL OR indexer = $4) AND ($5 IS NULL OR simulated = $5)
    AND ($6 IS NULL OR institution_cnpj = $6 OR contains(lower(institution_name), lower($6)) OR contains(lower(brand), lower($6)))
),
picked AS (
  SELECT *, row_number() OVER (
      PARTITION BY organisation_id, institution_cnpj, brand, product, segment, product_type, indexer, collection_id
      ORDER BY src_topic, src_partition, src_offset, item_index) AS dup
  FROM src
)
SELECT coalesce(institution_cnpj, ''), coalesce(institution_name, ''), coalesce(brand, ''), coalesce(organisation_id, ''),
  coalesce(product, ''), coalesce(segment, ''), coalesce(product_type, ''), coalesce(indexer, ''),
  coalesce(collection_id, ''), collected_at,
  rate::VARCHAR, minimum_rate::VARCHAR, maximum_rate::VARCHAR,
  band1_rate::VARCHAR, band2_rate::VARCHAR, band3_rate::VARCHAR, band4_rate::VARCHAR,
  band1_customers::VARCHAR, band2_customers::VARCHAR, band3_customers::VARCHAR, band4_customers::VARCHAR,
  ` + weighted("rate") + `::VARCHAR, coalesce(flags, ''), coalesce(simulated, false)
FROM picked WHERE dup = 1
ORDER BY organisation_id, institution_cnpj, brand, product, segment, product_type, indexer, collected_at, collection_id`

// qualitySQL: per institution and collection, counts of findings by rule,
// quarantined items by kind and reason, pages and pages with errors.
// Parameters: $1 institution, $2 all collections (false = latest only).
const qualitySQL = `WITH coll AS (
  SELECT organisation_id, institution_cnpj, brand, collection_id, collected_at, institution_name, simulated FROM opendata_pages
  UNION ALL SELECT organisation_id, institution_cnpj, brand, collection_id, collected_at, institution_name, simulated FROM opendata_findings
  UNION ALL SELECT organisation_id, institution_cnpj, brand, collection_id, collected_at, institution_name, simulated FROM opendata_quarantine
),
runs AS (
  SELECT organisation_id, institution_cnpj, brand, collection_id,
    max(collected_at) AS collected_at, arg_max(institution_name, collected_at) AS institution_name, bool_or(simulated) AS simulated
  FROM coll
  WHERE ($1 IS NULL OR institution_cnpj = $1 OR contains(lower(institution_name), lower($1)) OR contains(lower(brand), lower($1)))
  GROUP BY organisation_id, institution_cnpj, brand, collection_id
),
sel AS (
  SELECT * FROM runs
  QUALIFY $2 OR row_number() OVER (PARTITION BY organisation_id, institution_cnpj, brand ORDER BY collected_at DESC, collection_id DESC) = 1
),
pages AS (
  SELECT DISTINCT ON (p.collection_id, p.url, p.page) p.*
  FROM opendata_pages p
  ORDER BY p.collection_id, p.url, p.page, p.src_topic, p.src_partition, p.src_offset, p.item_index
),
counts AS (
  SELECT s.organisation_id, s.institution_cnpj, s.brand, s.collection_id, 'finding' AS category, '' AS kind, coalesce(f.rule, '') AS detail, count(*) AS n
  FROM sel s JOIN opendata_findings f USING (organisation_id, institution_cnpj, brand, collection_id)
  GROUP BY ALL
  UNION ALL
  SELECT s.organisation_id, s.institution_cnpj, s.brand, s.collection_id, 'quarantine', coalesce(q.kind, ''), coalesce(q.reason, ''), count(*)
  FROM sel s JOIN opendata_quarantine q USING (organisation_id, institution_cnpj, brand, collection_id)
  GROUP BY ALL
  UNION ALL
  SELECT s.organisation_id, s.institution_cnpj, s.brand, s.collection_id, 'pages', '', '', count(p.collection_id)
  FROM sel s LEFT JOIN pages p USING (organisation_id, institution_cnpj, brand, collection_id)
  GROUP BY ALL
  UNION ALL
  SELECT s.organisation_id, s.institution_cnpj, s.brand, s.collection_id, 'pages_with_errors', '', '',
    count(p.collection_id) FILTER (WHERE p.status_code NOT BETWEEN 200 AND 299 OR coalesce(p.parse_error, '') <> '')
  FROM sel s LEFT JOIN pages p USING (organisation_id, institution_cnpj, brand, collection_id)
  GROUP BY ALL
)
SELECT coalesce(s.organisation_id, ''), coalesce(s.institution_cnpj, ''), coalesce(s.institution_name, ''), coalesce(s.brand, ''),
  coalesce(s.simulated, false), coalesce(s.collection_id, ''), s.collected_at, c.category, c.kind, c.detail, c.n
FROM sel s JOIN counts c USING (organisation_id, institution_cnpj, brand, collection_id)
ORDER BY s.institution_name, s.brand, s.institution_cnpj, s.collected_at DESC, s.collection_id DESC,
  CASE c.category WHEN 'pages' THEN 1 WHEN 'pages_with_errors' THEN 2 WHEN 'finding' THEN 3 ELSE 4 END, c.kind, c.detail`

// collectionsSQL: collection runs from opendata_collections, deduplicated by
// collection_id. Parameters: $1 institution, $2 all runs (false = latest per
// institution); %s is the not_offered column, or an empty string where an older file
// opened read-only has none (Collections).
const collectionsSQL = `WITH runs AS (
  SELECT * FROM opendata_collections
  QUALIFY row_number() OVER (PARTITION BY collection_id, organisation_id, institution_cnpj, brand ORDER BY src_topic, src_partition, src_offset, item_index) = 1
)
SELECT coalesce(collection_id, ''), coalesce(organisation_id, ''), coalesce(organisation_name, ''), coalesce(institution_cnpj, ''),
  coalesce(brand, ''), coalesce(simulated, false), started_at, finished_at, coalesce(status, ''),
  coalesce(endpoints, 0), coalesce(pages, 0), coalesce(failed_pages, 0), coalesce(retries, 0), coalesce(errors, ''),
  %s
FROM runs
WHERE ($1 IS NULL OR institution_cnpj = $1 OR contains(lower(organisation_name), lower($1)) OR contains(lower(brand), lower($1)))
QUALIFY $2 OR row_number() OVER (PARTITION BY organisation_id, institution_cnpj, brand ORDER BY started_at DESC, collection_id DESC) = 1
ORDER BY organisation_name, brand, institution_cnpj, started_at DESC`
