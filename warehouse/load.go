package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// SourceRange names the Kafka records a Parquet file was built from: every
// row of the file has src_topic = Topic, src_partition = Partition and
// First <= src_offset <= Last. (Item files have no source columns; their
// range is only recorded in the loads log.)
type SourceRange struct {
	Topic     string
	Partition int32
	First     int64
	Last      int64
}

func (r SourceRange) validate() error {
	if r.Topic == "" || r.Partition < 0 || r.First < 0 || r.First > r.Last {
		return fmt.Errorf("warehouse: invalid source range %+v (want a topic, partition >= 0 and 0 <= first <= last)", r)
	}
	return nil
}

// Load loads one dataset's Parquet file of one source range; it is
// LoadBatch with a single file.
func (s *Store) Load(ctx context.Context, dataset, parquetPath string, src SourceRange) (int64, error) {
	n, err := s.LoadBatch(ctx, src, map[string]string{dataset: parquetPath})
	return n[dataset], err
}

// LoadBatch loads the Parquet files that one source range produced (one
// per dataset) in ONE transaction, so a batch is in the warehouse whole
// or not at all. It is LoadBatches with one batch.
func (s *Store) LoadBatch(ctx context.Context, src SourceRange, files map[string]string) (map[string]int64, error) {
	return s.LoadBatches(ctx, []Batch{{Range: src, Files: files}})
}

// Batch is the local Parquet files (dataset -> path) one source range produced.
type Batch struct {
	Range SourceRange
	Files map[string]string
}

// LoadBatches loads the files of several batches (the partitions of a
// pipeline poll) in ONE transaction, with the effect of loading each batch
// in order, and returns the rows inserted per dataset (as named in the
// batches).
//
// Datasets with source columns (every dataset but the items) are
// idempotent by source range: rows of the same dataset already loaded from
// an overlapping range (a batch redone after a crash, maybe cut
// differently) are replaced, so every (src_topic, src_partition,
// src_offset, item_index) is present once. The delete is skipped when the
// loads log shows no overlapping range, the usual first delivery. Every
// such file must hold only rows of its batch's range (ErrSourceMismatch).
//
// Item datasets (opendata_fee_items, opendata_rate_items,
// opendata_finding_items, opendata_quarantine_items) are content:
// only the items of contents (content_key) not in the table yet are
// inserted, each (content_key, item_index) once (a content arrives again
// after a pipeline restart or a failed batch), and they are never
// deleted. They are loaded before the pages, and a page may
// also arrive in an earlier call than its content's items: its fees and
// rates appear in the views when they do.
//
// Files written before schema version 4 are accepted: a file of dataset
// opendata_fees or opendata_rates (the views' columns) is loaded as items
// of the content 'legacy/<src_topic>/<src_partition>/<src_offset>', with
// its institution columns as the record_* columns, and an opendata_pages
// file without content_key gets that content_key, so the views show
// exactly the rows of those files. A file of dataset opendata_findings or
// opendata_quarantine written before schema version 5 (the views' columns)
// is loaded as it is into opendata_finding_rows or opendata_quarantine_rows.
//
// The keys of the derived comparison tables the call touched are queued
// for refresh (latest.go says when it runs).
func (s *Store) LoadBatches(ctx context.Context, batches []Batch) (loaded map[string]int64, err error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	var steps LoadSteps
	defer func() {
		var rows int64
		for _, n := range loaded {
			rows += n
		}
		s.stats.load(steps, rows, err == nil)
	}()
	start := time.Now()
	files, err := s.planLoad(ctx, batches)
	steps.Plan = time.Since(start)
	if err != nil {
		return nil, err
	}
	what := describeBatches(batches)

	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if restore := s.loadThreads(ctx); restore != nil {
		defer restore()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("warehouse: load %s: %w", what, err)
	}
	defer func() { _ = tx.Rollback() }()
	sink := &itemSink{dir: ItemsDir(s.path)}
	loaded, queued, err := loadFiles(ctx, tx, files, &steps, sink)
	if err != nil {
		removeFiles(sink.placed)
		return nil, err
	}
	start = time.Now()
	err = tx.Commit()
	steps.Commit = time.Since(start)
	if err != nil {
		removeFiles(sink.placed)
		return nil, fmt.Errorf("warehouse: commit load of %s: %w", what, err)
	}
	if queued {
		s.markDirty()
		s.wakeRefresher()
	}
	if tables := sink.tables(); len(tables) > 0 {
		s.foldItemFiles(ctx, tables)
	}
	s.maybeCheckpoint(ctx)
	s.log.Debug("warehouse load", "ranges", what, "rows", loaded, "took", steps.Total(), slog.Group("steps",
		"plan", steps.Plan, "items", steps.Items, "rows", steps.Rows, "queue", steps.Queue, "commit", steps.Commit))
	return loaded, nil
}

func describeBatches(batches []Batch) string {
	parts := make([]string, len(batches))
	for i, b := range batches {
		parts[i] = fmt.Sprintf("%s/%d [%d,%d]", b.Range.Topic, b.Range.Partition, b.Range.First, b.Range.Last)
	}
	return strings.Join(parts, ", ")
}

// fileKind says how a file is loaded.
type fileKind int

const (
	kindItems       fileKind = iota // fee, rate, finding or quarantine items: the items of new contents inserted
	kindLegacyItems                 // opendata_fees / opendata_rates of before version 4: converted to items
	kindPages                       // opendata_pages: by source range; their fees and rates queued for refresh
	kindLegacyPages                 // opendata_pages of before version 4 (no content_key)
	kindRows                        // any other dataset: by source range
)

// stage orders the loads of one call: items, then pages, then the rest.
func (k fileKind) stage() int {
	switch k {
	case kindItems, kindLegacyItems:
		return 0
	case kindPages, kindLegacyPages:
		return 1
	}
	return 2
}

// loadFile is one file of a LoadBatches call.
type loadFile struct {
	dataset string // as named in the batch: the key of the rows returned
	table   string // the table it is loaded into
	kind    fileKind
	path    string
	src     SourceRange
	batch   int // the index of its batch

	// Of a file with source columns, found before any of the call's files
	// is loaded (sourceChecks): its rows, and whether its range overlaps
	// one the loads log had or an earlier file of its table in the call
	// (its table's rows of that range are replaced).
	rows     int64
	replaces bool
}

// planLoad validates the batches and checks every file's columns against
// its dataset's contract (outside the transaction), and returns the files
// in load order: items, pages, the rest; per table, in batch order.
func (s *Store) planLoad(ctx context.Context, batches []Batch) ([]loadFile, error) {
	batches = slices.Clone(batches)
	var paths []string
	for i, b := range batches {
		if err := b.Range.validate(); err != nil {
			return nil, err
		}
		// Relative paths would resolve in the items directory (Options.open).
		abs := make(map[string]string, len(b.Files))
		for ds, path := range b.Files {
			a, err := filepath.Abs(path)
			if err != nil {
				return nil, fmt.Errorf("warehouse: load %s: %w", path, err)
			}
			abs[ds] = a
			paths = append(paths, a)
		}
		batches[i].Files = abs
	}
	columns, err := s.parquetColumnsOf(ctx, paths)
	if err != nil {
		return nil, err
	}
	var files []loadFile
	for bi, b := range batches {
		for ds, path := range b.Files {
			f := loadFile{dataset: ds, table: ds, path: path, src: b.Range, batch: bi}
			got := columns[path]
			want := datasets[ds]
			switch {
			case itemViews[ds].items != "":
				f.kind = kindItems
			case ds == DatasetPages:
				f.kind = kindPages
				if !got["content_key"] {
					f.kind = kindLegacyPages
					want = without(want, "content_key")
				}
			case views[ds].rows != "": // findings, quarantine of before version 5
				f.kind, f.table, want = kindRows, views[ds].rows, views[ds].columns()
			case views[ds].items != "": // fees, rates of before version 4
				f.kind, f.table, want = kindLegacyItems, views[ds].items, views[ds].columns()
			case want != nil:
				f.kind = kindRows
			default:
				return nil, fmt.Errorf("%w %q (known: %s; and, written before schema version 4, %s)", ErrUnknownDataset, ds,
					strings.Join(Datasets(), ", "), strings.Join(Views(), ", "))
			}
			for _, c := range addedColumns[ds] {
				if !got[c.Name] { // written before the column: NULL
					want = without(want, c.Name)
				}
			}
			if err := checkColumns(ds, path, got, want); err != nil {
				return nil, err
			}
			files = append(files, f)
		}
	}
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.kind.stage() != b.kind.stage() {
			return a.kind.stage() < b.kind.stage()
		}
		if a.table != b.table {
			return a.table < b.table
		}
		return a.batch < b.batch
	})
	return files, nil
}

func without(cols []Column, name string) []Column {
	var out []Column
	for _, c := range cols {
		if c.Name != name {
			out = append(out, c)
		}
	}
	return out
}

// parquetColumnsOf returns the column names of each Parquet file, read
// from all their footers with one query (one DESCRIBE per file cost about
// 1 ms each, a pipeline load has dozens of files). When that query fails
// (a file is missing or not Parquet), the files are described one by one,
// so that the error names the file.
func (s *Store) parquetColumnsOf(ctx context.Context, paths []string) (map[string]map[string]bool, error) {
	out := make(map[string]map[string]bool, len(paths))
	if len(paths) == 0 {
		return out, nil
	}
	params := make([]string, len(paths))
	args := make([]any, len(paths))
	for i, p := range paths {
		params[i], args[i] = fmt.Sprintf("$%d", i+1), p
	}
	// The root element of a file's schema has no type; a flat file's
	// columns are the other elements.
	rows, err := s.db.QueryContext(ctx, `SELECT file_name, name FROM parquet_schema([`+strings.Join(params, ", ")+`]) WHERE type IS NOT NULL`, args...)
	if err == nil {
		for rows.Next() {
			var file, name string
			if err = rows.Scan(&file, &name); err != nil {
				break
			}
			if out[file] == nil {
				out[file] = map[string]bool{}
			}
			out[file][name] = true
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
	}
	for _, p := range paths {
		if err == nil && out[p] != nil {
			continue
		}
		got, derr := s.parquetColumns(ctx, p)
		if derr != nil {
			return nil, derr
		}
		out[p] = got
	}
	return out, nil
}

// parquetColumns returns the column names of a Parquet file.
func (s *Store) parquetColumns(ctx context.Context, parquetPath string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `DESCRIBE SELECT * FROM read_parquet($1)`, parquetPath)
	if err != nil {
		return nil, fmt.Errorf("warehouse: read parquet %s: %w", parquetPath, err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			return nil, fmt.Errorf("warehouse: describe parquet %s: %w", parquetPath, err)
		}
		got[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: describe parquet %s: %w", parquetPath, err)
	}
	return got, nil
}

// checkColumns compares a file's column names with a contract.
func checkColumns(dataset, parquetPath string, got map[string]bool, want []Column) error {
	var missing, extra []string
	wanted := map[string]bool{}
	for _, c := range want {
		wanted[c.Name] = true
		if !got[c.Name] {
			missing = append(missing, c.Name)
		}
	}
	for name := range got {
		if !wanted[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		return fmt.Errorf("warehouse: %s does not match the %s column contract (missing %v, unexpected %v)", parquetPath, dataset, missing, extra)
	}
	return nil
}

// Per-connection temporary tables of a load: the page rows whose view rows
// the load may change (touchedPagesTable: the replaced ones, read before
// their delete, and the new ones), the contents that got new items
// (newContentsTable), and of the item files, the contents of each file
// (fileContentsTable) and the new contents of each item table with the
// file each is taken from (newItemsTable).
const (
	touchedPagesTable = "ofp_load_pages"
	newContentsTable  = "ofp_load_contents"
	newItemsTable     = "ofp_load_items"
	fileContentsTable = "ofp_load_file_contents"
)

// pageKeyCols are the page columns a view row's latest key and collection
// come from (the record_* columns of its item may override two of them).
const pageKeyCols = "organisation_id, institution_cnpj, brand, product, collection_id"

// loadFiles loads the planned files inside tx and, when pages or items
// were among them, queues the keys of the derived comparison tables they
// touched. It returns the rows inserted per dataset and whether keys were
// queued, and adds the time of its steps to steps.
func loadFiles(ctx context.Context, tx *sql.Tx, files []loadFile, steps *LoadSteps, sink *itemSink) (map[string]int64, bool, error) {
	loaded := map[string]int64{}
	track := false
	for _, f := range files {
		loaded[f.dataset] += 0
		track = track || f.kind.stage() < 2
	}
	if track {
		for _, q := range []string{
			`CREATE OR REPLACE TEMP TABLE ` + touchedPagesTable + ` (content_key VARCHAR, organisation_id VARCHAR, institution_cnpj VARCHAR,
  brand VARCHAR, product VARCHAR, collection_id VARCHAR, replaced BOOLEAN)`,
			`CREATE OR REPLACE TEMP TABLE ` + newContentsTable + ` (content_key VARCHAR)`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, false, fmt.Errorf("warehouse: prepare the load: %w", err)
			}
		}
	}
	if err := sourceChecks(ctx, tx, files); err != nil {
		return nil, false, err
	}
	for i := 0; i < len(files); {
		j := groupEnd(files, i)
		load, step := loadRows, &steps.Rows
		if files[i].kind.stage() == 0 {
			load, step = sink.loadItems, &steps.Items
		}
		start := time.Now()
		err := load(ctx, tx, files[i:j], loaded)
		*step += time.Since(start)
		if err != nil {
			return nil, false, err
		}
		i = j
	}
	if !track {
		return loaded, false, nil
	}
	if testHookBeforeQueue != nil {
		testHookBeforeQueue()
	}
	start := time.Now()
	err := queueLoadRefresh(ctx, tx)
	steps.Queue += time.Since(start)
	if err != nil {
		return nil, false, err
	}
	return loaded, true, nil
}

// testHookBeforeQueue, when set by a test, runs inside a load's
// transaction after its rows are written, before its keys are queued.
var testHookBeforeQueue func()

// sourceCounts returns the rows of each file (all of one table), and
// refuses the files with rows outside their source range.
func sourceCounts(ctx context.Context, tx *sql.Tx, files []loadFile) ([]int64, error) {
	parts := make([]string, len(files))
	args := make([]any, 0, 5*len(files))
	for k, f := range files {
		n := len(args)
		parts[k] = fmt.Sprintf(`SELECT %[1]d AS file_no, (src_topic IS DISTINCT FROM $%[3]d OR src_partition IS DISTINCT FROM $%[4]d
   OR src_offset IS NULL OR src_offset < $%[5]d OR src_offset > $%[6]d OR item_index IS NULL) AS outside FROM read_parquet($%[2]d)`,
			k, n+1, n+2, n+3, n+4, n+5)
		args = append(args, f.path, f.src.Topic, f.src.Partition, f.src.First, f.src.Last)
	}
	rows, err := tx.QueryContext(ctx, `SELECT file_no, count(*), count(*) FILTER (WHERE outside) FROM (`+
		strings.Join(parts, "\nUNION ALL ")+`) GROUP BY file_no`, args...)
	if err != nil {
		return nil, fmt.Errorf("warehouse: check source columns of %s: %w", describeFiles(files), err)
	}
	defer rows.Close()
	counts := make([]int64, len(files))
	for rows.Next() {
		var k int
		var n, outside int64
		if err := rows.Scan(&k, &n, &outside); err != nil {
			return nil, fmt.Errorf("warehouse: check source columns of %s: %w", describeFiles(files), err)
		}
		if outside > 0 {
			f := files[k]
			return nil, fmt.Errorf("%w: %d rows of %s are not in %s/%d [%d,%d]", ErrSourceMismatch, outside, f.path, f.src.Topic, f.src.Partition, f.src.First, f.src.Last)
		}
		counts[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: check source columns of %s: %w", describeFiles(files), err)
	}
	return counts, nil
}

// recordLoads appends the loads of files (rows[k] rows for files[k]) to
// the loads log and adds the rows to loaded (per dataset, as named in the
// batches).
func recordLoads(ctx context.Context, tx *sql.Tx, files []loadFile, rows []int64, loaded map[string]int64) error {
	values := make([]string, len(files))
	args := make([]any, 0, 7*len(files))
	now := time.Now().UTC()
	for k, f := range files {
		n := len(args)
		values[k] = fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, f.table, f.src.Topic, f.src.Partition, f.src.First, f.src.Last, rows[k], now)
		loaded[f.dataset] += rows[k]
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO loads VALUES `+strings.Join(values, ", "), args...); err != nil {
		return fmt.Errorf("warehouse: record the load of %s: %w", describeFiles(files), err)
	}
	return nil
}

// itemSelect is the SELECT of the item columns of a file of kind items or
// legacy items, as a relation of the item table's columns and file_no.
func itemSelect(f loadFile, param string, fileNo int) string {
	var out []string
	for _, c := range datasets[f.table] {
		out = append(out, itemColumnExpr(f, c.Name)+" AS "+c.Name)
	}
	return fmt.Sprintf("SELECT %s, %d AS file_no FROM read_parquet(%s)", strings.Join(out, ", "), fileNo, param)
}

// itemKeySelect is the SELECT of an item file's keys: its item_table,
// content_key, item_index, the record overrides of the comparison key
// (keyOverrides) and file_no.
func itemKeySelect(f loadFile, param string, fileNo int) string {
	cols := []string{quoteLiteral(f.table) + " AS item_table", itemColumnExpr(f, "content_key") + " AS content_key", "item_index"}
	for _, o := range keyOverrides() {
		cols = append(cols, itemColumnExpr(f, o)+" AS "+o)
	}
	return fmt.Sprintf("SELECT %s, %d AS file_no FROM read_parquet(%s)", strings.Join(cols, ", "), fileNo, param)
}

// itemColumnExpr is the expression of an item column over the rows of an
// item file (a legacy file has a fee's or rate's columns).
func itemColumnExpr(f loadFile, name string) string {
	if f.kind == kindLegacyItems {
		switch name {
		case "content_key":
			return legacyContentKey
		case "record_institution_cnpj", "record_institution_name", "record_brand":
			return strings.TrimPrefix(name, "record_")
		}
	}
	return name
}

// itemSink is where a load puts the item files it stores: the items
// directory, and the files placed there (removed when the load does not
// commit).
type itemSink struct {
	dir    string
	placed []string
}

// tables returns the item tables that got files, sorted.
func (k *itemSink) tables() []string {
	set := map[string]bool{}
	for _, p := range k.placed {
		set[filepath.Base(filepath.Dir(p))] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// loadItems stores the items of files (the item files of a call, of any
// item tables) whose content_key their table does not hold yet; of a
// content in several files of a table, the first file's rows (in batch
// order), each (content_key, item_index) once. The new contents are added
// to the content index and, for the comparisons' tables, recorded in
// newContentsTable. Every file gets a row in the loads log with the items
// it added.
//
// A content's items are all in one file (the pipeline writes them
// together) and never change, so the new contents are found on the
// content_key column alone, against the content index (about one row per
// content, where the item table has one per item). The usual file, all
// of whose contents are new, each pair once, with the contract's column
// types, is copied into the items directory as it is (itemfiles.go);
// another file's new items are written there by DuckDB. A load costs
// about what it adds, whatever the warehouse holds, and the statements
// cover every item table at once (a statement costs a few milliseconds
// whatever it does).
func (k *itemSink) loadItems(ctx context.Context, tx *sql.Tx, files []loadFile, loaded map[string]int64) error {
	keys := make([]string, len(files))
	args := make([]any, len(files))
	var legacy []loadFile
	for _, f := range files {
		if f.kind == kindLegacyItems {
			legacy = append(legacy, f)
		}
	}
	if len(legacy) > 0 {
		if _, err := sourceCounts(ctx, tx, legacy); err != nil {
			return err
		}
	}
	for i, f := range files {
		keys[i] = itemKeySelect(f, fmt.Sprintf("$%d", i+1), i)
		args[i] = f.path
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("warehouse: %s the new items of %s: %w", what, describeFiles(files), err)
	}
	// Per file, its contents with their rows, distinct item indexes and
	// rows with a NULL key (one read of the key columns); then the new
	// contents of each table, each with the first file that has it.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS
SELECT item_table, content_key, file_no, count(*) AS n, count(DISTINCT item_index) AS d,
  count(*) FILTER (WHERE content_key IS NULL OR item_index IS NULL) AS nulls
FROM (%s) GROUP BY item_table, content_key, file_no`, fileContentsTable, strings.Join(keys, "\nUNION ALL ")), args...); err != nil {
		return fail("find", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT item_table, content_key, min(file_no) AS file_no, arg_min(n, file_no) AS n, arg_min(d, file_no) AS d, arg_min(nulls, file_no) AS nulls
FROM %[2]s u ANTI JOIN %[3]s t ON t.item_table = u.item_table AND t.content_key = u.content_key
GROUP BY item_table, content_key`, newItemsTable, fileContentsTable, contentIndexTable)); err != nil {
		return fail("find", err)
	}
	type fileCount struct{ contents, rows, newContents, newRows, newDistinct, nulls int64 }
	counts := make([]fileCount, len(files))
	rows, err := tx.QueryContext(ctx, `SELECT f.file_no, f.contents, f.n, coalesce(w.contents, 0), coalesce(w.n, 0), coalesce(w.d, 0), coalesce(w.nulls, 0)
FROM (SELECT file_no, count(*) AS contents, sum(n) AS n FROM `+fileContentsTable+` GROUP BY file_no) f
LEFT JOIN (SELECT file_no, count(*) AS contents, sum(n) AS n, sum(d) AS d, sum(nulls) AS nulls FROM `+newItemsTable+` GROUP BY file_no) w USING (file_no)`)
	if err != nil {
		return fail("count", err)
	}
	var nulls int64
	for rows.Next() {
		var i int
		var c fileCount
		if err := rows.Scan(&i, &c.contents, &c.rows, &c.newContents, &c.newRows, &c.newDistinct, &c.nulls); err != nil {
			rows.Close()
			return fail("count", err)
		}
		counts[i], nulls = c, nulls+c.nulls
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("count", err)
	}
	if nulls > 0 {
		return fmt.Errorf("warehouse: %s: %d items have no content_key or item_index; fix the pipeline that wrote them", describeFiles(files), nulls)
	}
	typed, err := contractTyped(ctx, tx, files)
	if err != nil {
		return fail("describe", err)
	}
	added := make([]int64, len(files))
	for i, f := range files {
		c := counts[i]
		if c.newContents == 0 {
			continue
		}
		added[i] = c.newDistinct
		if typed[f.table] && f.kind == kindItems && c.newContents == c.contents && c.newRows == c.newDistinct {
			// Every content of the file is new and each pair is once: the file as it is.
			name, path, err := placeItemFile(k.dir, f.table, f.path)
			if err != nil {
				return fail("store", err)
			}
			k.placed = append(k.placed, path)
			if err := registerItemFile(ctx, tx, f.table, name, path, c.newDistinct); err != nil {
				return err
			}
			continue
		}
		name, path := newItemFileName(k.dir, f.table)
		k.placed = append(k.placed, path)
		distinct := ""
		if c.newRows > c.newDistinct { // a pair repeated in the file: keep one
			distinct = "DISTINCT ON (content_key, item_index) "
		}
		// Cast to the contract here: a value that does not fit fails the
		// load, not every later query of the view.
		if err := copyTo(ctx, tx, fmt.Sprintf(`SELECT %[1]s%[2]s FROM (%[3]s) u
SEMI JOIN %[4]s n ON n.content_key = u.content_key AND n.file_no = u.file_no`,
			distinct, contractCasts(f.table, "u"), itemSelect(f, quoteLiteral(f.path), i), newItemsTable), path); err != nil {
			return fail("store", err)
		}
		if err := registerItemFile(ctx, tx, f.table, name, path, c.newDistinct); err != nil {
			return err
		}
	}
	cols := append([]string{"item_table", "content_key"}, keyOverrides()...)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s SELECT DISTINCT %s FROM (%s) u
SEMI JOIN %s n ON n.content_key = u.content_key AND n.file_no = u.file_no`,
		contentIndexTable, strings.Join(cols, ", "), strings.Join(keys, "\nUNION ALL "), newItemsTable), args...); err != nil {
		return fail("index", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+newContentsTable+` SELECT content_key FROM `+newItemsTable+
		` WHERE item_table IN (SELECT DISTINCT item_table FROM (`+comparingIndexSQL("item_table")+`))`); err != nil {
		return fail("insert", err)
	}
	for _, t := range []string{newItemsTable, fileContentsTable} {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+t); err != nil {
			return fail("insert", err)
		}
	}
	return recordLoads(ctx, tx, files, added, loaded)
}

// contractTyped reports, per item table, whether its files of kind items
// among files have the table's contract types in every contract column:
// such a file can be stored as it is.
func contractTyped(ctx context.Context, tx *sql.Tx, files []loadFile) (map[string]bool, error) {
	paths := map[string][]string{}
	for _, f := range files {
		if f.kind == kindItems {
			paths[f.table] = append(paths[f.table], quoteLiteral(f.path))
		}
	}
	out := map[string]bool{}
	for table, ps := range paths {
		rows, err := tx.QueryContext(ctx, `DESCRIBE SELECT * FROM read_parquet([`+strings.Join(ps, ", ")+`], union_by_name = true)`)
		if err != nil {
			return nil, err
		}
		got := map[string]string{}
		for rows.Next() {
			var name, typ string
			var null, key, def, extra sql.NullString
			if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
				rows.Close()
				return nil, err
			}
			got[name] = typ
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out[table] = true
		for _, c := range datasets[table] {
			if got[c.Name] != c.Type {
				out[table] = false
			}
		}
	}
	return out, nil
}

func describeFiles(files []loadFile) string {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	return strings.Join(paths, ", ")
}

// loadRows loads the files of one table and kind, each of a dataset with
// source columns: it deletes the table's rows of a file's range when an
// earlier load overlapped it, then inserts the files BY NAME. For pages,
// the replaced and the new page rows are recorded in touchedPagesTable
// (the replaced ones marked so). The statements cover all the files at
// once: a pipeline batch brings one file per partition.
func loadRows(ctx context.Context, tx *sql.Tx, files []loadFile, loaded map[string]int64) error {
	table := files[0].table
	pages := files[0].kind == kindPages || files[0].kind == kindLegacyPages
	counts := make([]int64, len(files))
	for k, f := range files {
		counts[k] = f.rows
		if !f.replaces {
			continue
		}
		src := f.src
		if pages {
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+touchedPagesTable+` SELECT DISTINCT content_key, `+pageKeyCols+`, true
FROM `+DatasetPages+` WHERE src_topic = $1 AND src_partition = $2 AND src_offset BETWEEN $3 AND $4`,
				src.Topic, src.Partition, src.First, src.Last); err != nil {
				return fmt.Errorf("warehouse: read the pages %s replaces: %w", f.path, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE src_topic = $1 AND src_partition = $2 AND src_offset BETWEEN $3 AND $4`,
			src.Topic, src.Partition, src.First, src.Last); err != nil {
			return fmt.Errorf("warehouse: delete %s rows of %s/%d [%d,%d]: %w", table, src.Topic, src.Partition, src.First, src.Last, err)
		}
	}
	params := make([]string, len(files))
	args := make([]any, len(files))
	for k, f := range files {
		params[k] = fmt.Sprintf("$%d", k+1)
		args[k] = f.path
	}
	scan := "read_parquet([" + strings.Join(params, ", ") + "], union_by_name = true)"
	sel := "SELECT * FROM " + scan
	contentKey := "content_key"
	if files[0].kind == kindLegacyPages {
		sel = "SELECT *, " + legacyContentKey + " AS content_key FROM " + scan
		contentKey = legacyContentKey
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` BY NAME `+sel, args...); err != nil {
		return fmt.Errorf("warehouse: insert %s into %s: %w", describeFiles(files), table, err)
	}
	if pages {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+touchedPagesTable+` SELECT DISTINCT `+contentKey+`, `+pageKeyCols+`, false
FROM `+scan, args...); err != nil {
			return fmt.Errorf("warehouse: read the pages of %s: %w", describeFiles(files), err)
		}
	}
	return recordLoads(ctx, tx, files, counts, loaded)
}

// groupEnd returns the end of the group of files loaded together from
// files[i]: every item file (loadItems), or the files of one table and
// kind up to one whose range overlaps another's of the group (that one
// must replace its rows, as if loaded after them).
func groupEnd(files []loadFile, i int) int {
	f := files[i]
	j := i + 1
	for ; j < len(files) && files[j].kind.stage() == f.kind.stage(); j++ {
		if f.kind.stage() == 0 { // every item file: loadItems takes them all
			continue
		}
		if files[j].table != f.table {
			break
		}
		if files[j].kind != f.kind || slices.ContainsFunc(files[i:j], func(o loadFile) bool { return o.src.overlaps(files[j].src) }) {
			break
		}
	}
	return j
}

// overlaps says whether r and o share a source position.
func (r SourceRange) overlaps(o SourceRange) bool {
	return r.Topic == o.Topic && r.Partition == o.Partition && r.First <= o.Last && r.Last >= o.First
}

// sourceChecks reads, in two statements for all the files with source
// columns of a call, their rows (refusing those with rows outside their
// range) and whether they replace rows (loadFile.rows, .replaces): a
// statement costs a load a few milliseconds, whatever it does.
func sourceChecks(ctx context.Context, tx *sql.Tx, files []loadFile) error {
	var idx []int
	var src []loadFile
	for i, f := range files {
		if f.kind.stage() > 0 {
			idx, src = append(idx, i), append(src, f)
		}
	}
	if len(src) == 0 {
		return nil
	}
	counts, err := sourceCounts(ctx, tx, src)
	if err != nil {
		return err
	}
	overlapping, err := overlappingFiles(ctx, tx, src)
	if err != nil {
		return err
	}
	for k, i := range idx {
		files[i].rows = counts[k]
	}
	for _, k := range overlapping {
		files[idx[k]].replaces = true
	}
	for k, i := range idx { // an earlier file of the call, loaded first
		f := files[i]
		files[i].replaces = f.replaces || slices.ContainsFunc(src[:k], func(o loadFile) bool { return o.table == f.table && o.src.overlaps(f.src) })
	}
	return nil
}

// overlappingFiles returns the indexes of the files whose source range
// overlaps a range the loads log has for their table.
func overlappingFiles(ctx context.Context, tx *sql.Tx, files []loadFile) ([]int, error) {
	values := make([]string, len(files))
	args := make([]any, 0, 5*len(files))
	for k, f := range files {
		n := len(args)
		values[k] = fmt.Sprintf("(%d, $%d, $%d, $%d::INTEGER, $%d::BIGINT, $%d::BIGINT)", k, n+1, n+2, n+3, n+4, n+5)
		args = append(args, f.table, f.src.Topic, f.src.Partition, f.src.First, f.src.Last)
	}
	rows, err := tx.QueryContext(ctx, `SELECT f.k FROM (VALUES `+strings.Join(values, ", ")+`) f(k, dataset, topic, part, first, last)
WHERE EXISTS (SELECT 1 FROM loads l WHERE l.dataset = f.dataset AND l.topic = f.topic AND l.partition = f.part
  AND l.first_offset <= f.last AND l.last_offset >= f.first) ORDER BY f.k`, args...)
	if err != nil {
		return nil, fmt.Errorf("warehouse: read the loads log: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("warehouse: read the loads log: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: read the loads log: %w", err)
	}
	return out, nil
}

// queueLoadRefresh queues, for each comparison, the keys and collections
// of the view rows the load changed: those of the page rows it replaced
// (read before their delete) and inserted, and those of every page whose
// content got new items (which covers a page loaded before its content's
// items). The pages are joined to the content index (an item's part of a
// key, its record's CNPJ and brand, takes few distinct values per content,
// and the index has them), not to the items. A comparison's keys are
// queued as replaced when view rows of it were deleted.
func queueLoadRefresh(ctx context.Context, tx *sql.Tx) error {
	var newContents int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+newContentsTable).Scan(&newContents); err != nil {
		return fmt.Errorf("warehouse: queue the refresh of the load: %w", err)
	}
	// Pages loaded in earlier calls than their content's new items are
	// those of the orphan contents among the new ones: only then are the
	// pages searched. Then this load's pages whose content still has no
	// fees or rates become orphans.
	if newContents > 0 {
		var arrived int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+orphanContentsTable+` o SEMI JOIN `+newContentsTable+
			` n ON n.content_key = o.content_key`).Scan(&arrived); err != nil {
			return fmt.Errorf("warehouse: queue the refresh of the load: %w", err)
		}
		if arrived > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+touchedPagesTable+` SELECT DISTINCT p.content_key, `+prefixed("p", strings.Split(pageKeyCols, ", "))+`, false
FROM `+DatasetPages+` p SEMI JOIN (SELECT o.content_key FROM `+orphanContentsTable+` o SEMI JOIN `+newContentsTable+` n ON n.content_key = o.content_key) a
  ON a.content_key = p.content_key`); err != nil {
				return fmt.Errorf("warehouse: read the pages of the new contents: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+orphanContentsTable+` WHERE content_key IN (SELECT content_key FROM `+newContentsTable+`)`); err != nil {
				return fmt.Errorf("warehouse: read the pages of the new contents: %w", err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+orphanContentsTable+` SELECT DISTINCT t.content_key FROM `+touchedPagesTable+` t
ANTI JOIN (`+comparingContentsSQL()+`) i ON i.content_key = t.content_key
ANTI JOIN `+orphanContentsTable+` o ON o.content_key = t.content_key
WHERE NOT t.replaced AND t.content_key IS NOT NULL`); err != nil {
		return fmt.Errorf("warehouse: list the orphan contents of the load: %w", err)
	}
	// One statement for both comparisons (a statement costs a load a few
	// milliseconds whatever it does): each one's keys and collections,
	// marked replaced when any view row of that comparison was deleted. A
	// key is queued even when it looks pending already: a refresh running
	// beside the load may have taken that row (it refreshed the key as it
	// was before this load) and commit first, and this load's change of
	// the key would be lost. The refresh reads the keys DISTINCT.
	var datasetOf []string
	for _, c := range comparisonSpecs {
		datasetOf = append(datasetOf, fmt.Sprintf("WHEN '%s' THEN '%s'", views[c.dataset].items, c.dataset))
	}
	q := fmt.Sprintf(`INSERT INTO %[1]s (dataset, %[2]s, replaced)
WITH k AS (SELECT DISTINCT CASE i.item_table %[3]s END AS dataset, p.organisation_id, %[4]s AS institution_cnpj, %[5]s AS brand,
    p.product, p.collection_id, p.replaced
  FROM (SELECT DISTINCT * FROM %[6]s) p JOIN (%[7]s) i ON i.content_key = p.content_key)
SELECT DISTINCT dataset, %[2]s, bool_or(replaced) OVER (PARTITION BY dataset) FROM k`,
		pendingTable, keyCollCols, strings.Join(datasetOf, " "), viewColumnExpr("institution_cnpj", "p", "i"), viewColumnExpr("brand", "p", "i"),
		touchedPagesTable, comparingIndexSQL("*"))
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("warehouse: queue the refresh of the comparisons: %w", err)
	}
	for _, t := range []string{touchedPagesTable, newContentsTable} {
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return fmt.Errorf("warehouse: queue the refresh of the load: %w", err)
		}
	}
	return nil
}
