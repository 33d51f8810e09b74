package warehouse

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Item files (schema version 9).
//
// The item datasets (opendata_fee_items, opendata_rate_items,
// opendata_finding_items, opendata_quarantine_items) are content: written
// once, never updated, never deleted but by Reset. A load keeps them as
// the Parquet files the pipeline wrote, copied into the warehouse's items
// directory (ItemsDir: <file>.items/<table>/) and registered in
// item_files; each table name is a view over its DuckDB table
// (<table>_stored) and its registered files. Writing items into DuckDB's
// own format had cost a pipeline load most of its time (on the
// benchmark's items, 3 times as long as the same rows into a temporary
// table, whatever the compression); a copied file costs about nothing.
// Reading many files, though, costs every query of the view (listing and
// footers: a count took 3.6 ms with one file, 11 ms with 30, 0.4 ms on a
// table) and a refresh that needs old contents scans them whole, so the
// files are folded into the DuckDB table later, in bulk (foldItemFiles):
// ingest into small files, merge in the background, as log-structured
// stores do.
//
// A file is placed in the directory before the load's transaction
// commits and registered in that transaction; the views read only
// registered files, so a load's items appear when it commits, and a file
// of a load that failed or crashed is invisible and removed (by the load,
// or by the next Open: sweepItemFiles). Every table's directory also holds
// _schema.parquet, an empty file with the table's columns, so that the
// view has a file to read before the first load and gets a column a later
// version adds (union_by_name) even from files written without it.

// storedSuffix names the DuckDB table of an item table's folded rows.
const storedSuffix = "_stored"

// itemFilesTable registers the item files: one row per file, with the
// item table it belongs to and its name in that table's directory.
const itemFilesTable = "item_files"

const createItemFilesSQL = `CREATE TABLE IF NOT EXISTS ` + itemFilesTable + ` (
  item_table VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  rows BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  added_at TIMESTAMP WITH TIME ZONE NOT NULL
)`

// retiredFilesTable lists the files folded into the DuckDB table: no
// longer registered, kept for retiredGrace so that a query or snapshot
// that began before the fold can still read them, then removed.
const retiredFilesTable = "item_files_retired"

const createRetiredFilesSQL = `CREATE TABLE IF NOT EXISTS ` + retiredFilesTable + ` (
  item_table VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  retired_at TIMESTAMP WITH TIME ZONE NOT NULL
)`

// Folding: when a table has more than foldAt registered files, or they
// hold more than foldRows items, a load that added one folds them all into
// the table's DuckDB table.
var (
	foldAt       = 16
	foldRows     = int64(500_000)
	retiredGrace = 10 * time.Minute
)

// itemFilesSince is the schema version of item files: migrate renames an
// older file's item tables to their _stored names.
const itemFilesSince = 9

// schemaFile is the empty file of every item table's directory.
const schemaFile = "_schema.parquet"

// ItemsDir is the directory of the item files of the warehouse file at
// path. It belongs to the file: move both together (Replace) or neither.
func ItemsDir(path string) string { return path + ".items" }

// itemViewSQL is the DDL of the view an item table is: its DuckDB table
// and the registered files of its directory (file_search_path is the
// items directory), with the contract's column types.
func itemViewSQL(table string) string {
	return fmt.Sprintf(`CREATE OR REPLACE VIEW %[1]s AS SELECT * FROM %[1]s%[4]s
UNION ALL SELECT %[2]s
FROM read_parquet('%[1]s/*.parquet', filename = true, union_by_name = true) f
WHERE parse_filename(filename) IN (SELECT name FROM %[3]s WHERE item_table = '%[1]s')`, table, contractCasts(table, "f"), itemFilesTable, storedSuffix)
}

// contractCasts is the select list of table's columns of the relation
// alias, cast to the contract's types.
func contractCasts(table, alias string) string {
	cols := make([]string, len(datasets[table]))
	for i, c := range datasets[table] {
		cols[i] = fmt.Sprintf("%s.%s::%s AS %s", alias, c.Name, c.Type, c.Name)
	}
	return strings.Join(cols, ", ")
}

// createItemTables makes every item table a view over its DuckDB table
// and its files in dir: it creates the directories and their schema
// files, renames an item table (a file of a version before
// itemFilesSince) to its _stored name or creates that table, and replaces
// the views.
func createItemTables(ctx context.Context, tx *sql.Tx, dir string) error {
	for _, table := range itemTables() {
		tdir := filepath.Join(dir, table)
		if err := os.MkdirAll(tdir, 0o755); err != nil {
			return fmt.Errorf("warehouse: create the item files directory: %w", err)
		}
		if schema := filepath.Join(tdir, schemaFile); !exists(schema) {
			cols := make([]string, len(datasets[table]))
			for i, c := range datasets[table] {
				cols[i] = fmt.Sprintf("NULL::%s AS %s", c.Type, c.Name)
			}
			if err := copyTo(ctx, tx, fmt.Sprintf("SELECT %s WHERE false", strings.Join(cols, ", ")), schema); err != nil {
				return err
			}
		}
		typ, err := tableType(ctx, tx, table)
		if err != nil {
			return err
		}
		if typ != "" && typ != "VIEW" {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE "+table+" RENAME TO "+table+storedSuffix); err != nil {
				return fmt.Errorf("warehouse: rename table %s: %w", table, err)
			}
		}
		if _, err := tx.ExecContext(ctx, strings.Replace(createTableSQL(table), " "+table+" (", " "+table+storedSuffix+" (", 1)); err != nil {
			return fmt.Errorf("warehouse: create table %s%s: %w", table, storedSuffix, err)
		}
		if _, err := tx.ExecContext(ctx, itemViewSQL(table)); err != nil {
			return fmt.Errorf("warehouse: create view %s: %w", table, err)
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// foldItemFiles folds, in each of tables with more than foldAt registered
// files or more than foldRows items in them, every registered file into
// the table's DuckDB table, in one transaction: the rows inserted, the
// files retired. It then removes the files retired longer than
// retiredGrace ago. The caller holds loadMu (no load registers files
// meanwhile). A failure leaves the files as they were and is only logged:
// loads go on.
func (s *Store) foldItemFiles(ctx context.Context, tables []string) {
	for _, table := range tables {
		if err := s.foldTable(ctx, table); err != nil {
			s.log.Warn("warehouse item files not folded; the next load retries", "table", table, "err", err)
		}
	}
	if err := s.removeRetired(ctx); err != nil {
		s.log.Warn("warehouse retired item files not removed; the next load retries", "err", err)
	}
}

// foldTable folds table's registered files into its DuckDB table when
// they are more than foldAt or hold more than foldRows items.
func (s *Store) foldTable(ctx context.Context, table string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name, rows FROM `+itemFilesTable+` WHERE item_table = $1 ORDER BY added_at, name`, table)
	if err != nil {
		return err
	}
	var names []string
	var items int64
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return err
		}
		names, items = append(names, name), items+n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(names) <= foldAt && items <= foldRows {
		return nil
	}
	start := time.Now()
	dir := ItemsDir(s.path)
	paths := make([]string, len(names))
	quoted := make([]string, len(names))
	for i, n := range names {
		paths[i] = quoteLiteral(filepath.Join(dir, table, n))
		quoted[i] = quoteLiteral(n)
	}
	folded := "item_table = " + quoteLiteral(table) + " AND name IN (" + strings.Join(quoted, ", ") + ")"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s%s SELECT %s FROM read_parquet([%s], union_by_name = true) f",
		table, storedSuffix, contractCasts(table, "f"), strings.Join(paths, ", "))); err != nil {
		return err
	}
	for _, q := range []string{
		`INSERT INTO ` + retiredFilesTable + ` SELECT item_table, name, now() FROM ` + itemFilesTable + ` WHERE ` + folded,
		`DELETE FROM ` + itemFilesTable + ` WHERE ` + folded,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	took := time.Since(start)
	s.stats.fold(len(names), items, took)
	s.log.Info("warehouse item files folded into the table", "table", table, "files", len(names), "rows", items, "took", took.Round(time.Millisecond))
	return nil
}

// removeRetired removes the files retired longer than retiredGrace ago.
func (s *Store) removeRetired(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT item_table, name FROM `+retiredFilesTable+` WHERE retired_at <= $1`, time.Now().Add(-retiredGrace))
	if err != nil {
		return err
	}
	type file struct{ table, name string }
	var files []file
	for rows.Next() {
		var f file
		if err := rows.Scan(&f.table, &f.name); err != nil {
			rows.Close()
			return err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Remove(filepath.Join(ItemsDir(s.path), f.table, f.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+retiredFilesTable+` WHERE item_table = $1 AND name = $2`, f.table, f.name); err != nil {
			return err
		}
	}
	return nil
}

// copyTo writes the rows of the query sel to a Parquet file at path
// (writeRenamed).
func copyTo(ctx context.Context, tx execer, sel, path string) error {
	err := writeRenamed(path, func(tmp string) error {
		_, err := tx.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", sel, quoteLiteral(tmp)))
		return err
	})
	if err != nil {
		return fmt.Errorf("warehouse: write item file %s: %w", path, err)
	}
	return nil
}

// writeRenamed has write write the file at path under a temporary name
// (path + ".tmp", which the views' pattern does not match), then renames
// it, so that no reader ever finds a partial file.
func writeRenamed(path string, write func(tmp string) error) error {
	tmp := path + ".tmp"
	err := write(tmp)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// newItemFileName returns a new file name in table's directory and its
// path: unique (time and randomness), so that no two loads, and no
// rebuild moved beside a file, ever share a name.
func newItemFileName(dir, table string) (name, path string) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name = time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:]) + ".parquet"
	return name, filepath.Join(dir, table, name)
}

// registerItemFile syncs the file at path to disk and registers it in tx.
func registerItemFile(ctx context.Context, tx execer, table, name, path string, rows int64) error {
	size, err := syncFile(path)
	if err != nil {
		return fmt.Errorf("warehouse: sync item file %s: %w", path, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+itemFilesTable+` VALUES ($1, $2, $3, $4, $5)`,
		table, name, rows, size, time.Now().UTC()); err != nil {
		return fmt.Errorf("warehouse: register item file %s: %w", path, err)
	}
	return nil
}

// placeItemFile copies src into table's directory under a new name (a
// copy, not a link: the caller may rewrite its file) and returns the name
// and path (writeRenamed).
func placeItemFile(dir, table, src string) (name, path string, err error) {
	name, path = newItemFileName(dir, table)
	if err := writeRenamed(path, func(tmp string) error { return copyFile(src, tmp) }); err != nil {
		return "", "", err
	}
	return name, path, nil
}

// syncFile flushes the file at path and its directory to disk and returns
// its size.
func syncFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return st.Size(), nil
}

// sweepItemFiles removes the files of the items directory that no row of
// item_files registers (those of a load that crashed, of a Reset, of the
// warehouse a rebuild replaced, partial copies) and fails when a
// registered file is missing: the views would silently lack its items.
// Open runs it before anything reads the views (binding one reads every
// file its pattern matches).
func (s *Store) sweepItemFiles(ctx context.Context) error {
	registered, err := s.registeredItemFiles(ctx)
	if err != nil {
		return err
	}
	dir := ItemsDir(s.path)
	var removed int
	var missing []string
	for _, table := range itemTables() {
		entries, err := os.ReadDir(filepath.Join(dir, table))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("warehouse: list the item files of %s: %w", table, err)
		}
		onDisk := map[string]bool{}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || name == schemaFile {
				continue
			}
			if registered[table][name] {
				onDisk[name] = true
				continue
			}
			if err := os.Remove(filepath.Join(dir, table, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("warehouse: remove an unregistered item file: %w", err)
			}
			removed++
		}
		for name := range registered[table] {
			if !onDisk[name] {
				missing = append(missing, filepath.Join(table, name))
			}
		}
	}
	if removed > 0 {
		s.log.Info("warehouse removed item files no load committed (or folded into the table)", "dir", dir, "files", removed)
	}
	if ok, err := s.hasTable(ctx, retiredFilesTable); err != nil {
		return err
	} else if ok { // the retired files are gone
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+retiredFilesTable); err != nil {
			return fmt.Errorf("warehouse: clear %s: %w", retiredFilesTable, err)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		more := ""
		if len(missing) > 3 {
			more = fmt.Sprintf(" (+%d more)", len(missing)-3)
			missing = missing[:3]
		}
		return fmt.Errorf("warehouse: %s lacks item files the warehouse holds: %s%s; rebuild the warehouse from the lake (`ofp warehouse rebuild`)",
			dir, strings.Join(missing, ", "), more)
	}
	return nil
}

// registeredItemFiles returns the names of the registered files per item table.
func (s *Store) registeredItemFiles(ctx context.Context) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	if ok, err := s.hasTable(ctx, itemFilesTable); err != nil || !ok { // a file of a version before item files, or a new one
		return out, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT item_table, name FROM `+itemFilesTable)
	if err != nil {
		return nil, fmt.Errorf("warehouse: read %s: %w", itemFilesTable, err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name string
		if err := rows.Scan(&table, &name); err != nil {
			return nil, fmt.Errorf("warehouse: read %s: %w", itemFilesTable, err)
		}
		if out[table] == nil {
			out[table] = map[string]bool{}
		}
		out[table][name] = true
	}
	return out, rows.Err()
}

// hasTable reports whether the warehouse file has the table (or view) name.
func (s *Store) hasTable(ctx context.Context, name string) (bool, error) {
	typ, err := tableType(ctx, s.db, name)
	return typ != "", err
}

// tableType returns the type of the table or view name of the warehouse
// ("BASE TABLE", "VIEW"), or "" when it has none.
func tableType(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, name string) (string, error) {
	var typ string
	err := q.QueryRowContext(ctx, `SELECT table_type FROM information_schema.tables
WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = $1`, name).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("warehouse: look up %s: %w", name, err)
	}
	return typ, nil
}

// removeFiles removes the files at paths, ignoring errors (the next Open
// sweeps what is left).
func removeFiles(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}

// Remove deletes the warehouse file at path, its write-ahead log and its
// item files; what does not exist is skipped.
func Remove(path string) error {
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("warehouse: remove %s: %w", p, err)
		}
	}
	if err := os.RemoveAll(ItemsDir(path)); err != nil {
		return fmt.Errorf("warehouse: remove %s: %w", ItemsDir(path), err)
	}
	return nil
}

// Replace makes the closed warehouse at src the one at dst: its item
// files move into dst's items directory beside dst's own (their names
// never collide), then the file is renamed over dst, the step that
// switches; the next Open of dst removes the item files of the old
// warehouse, which it no longer registers. A crash before the rename
// leaves dst as it was (with files it does not register, removed by its
// next Open).
func Replace(src, dst string) error {
	if _, err := os.Stat(src + ".wal"); err == nil {
		return fmt.Errorf("warehouse: replace %s with %s: %s has a write-ahead log; close it first", dst, src, src)
	}
	from, to := ItemsDir(src), ItemsDir(dst)
	for _, table := range itemTables() {
		if err := os.MkdirAll(filepath.Join(to, table), 0o755); err != nil {
			return fmt.Errorf("warehouse: replace %s: %w", dst, err)
		}
		entries, err := os.ReadDir(filepath.Join(from, table))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("warehouse: replace %s: %w", dst, err)
		}
		for _, e := range entries { // the schema files too: dst may have none yet
			if e.IsDir() {
				continue
			}
			if err := os.Rename(filepath.Join(from, table, e.Name()), filepath.Join(to, table, e.Name())); err != nil {
				return fmt.Errorf("warehouse: replace %s: move item file: %w", dst, err)
			}
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("warehouse: replace %s: %w", dst, err)
	}
	if err := os.Remove(dst + ".wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("warehouse: replace %s: %w", dst, err)
	}
	_ = os.RemoveAll(from)
	return nil
}

// copyFile copies src to dst (created or truncated); syncFile makes the
// copy durable when it must be.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
