package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Errors a caller can react to.
var (
	// ErrUnknownDataset means Load was asked for a dataset this warehouse has
	// no table for: the caller's dataset name is wrong or the binaries differ.
	ErrUnknownDataset = errors.New("warehouse: unknown dataset")
	// ErrReadOnly means a write was attempted on a store opened read-only:
	// write through the process that owns the database file instead.
	ErrReadOnly = errors.New("warehouse: store is read-only")
	// ErrSourceMismatch means a Parquet file holds rows outside the source
	// range it was loaded for; loading it would break idempotency. Fix the
	// caller (the object name and the file content disagree).
	ErrSourceMismatch = errors.New("warehouse: parquet rows outside the declared source range")
	// ErrSchemaMismatch means the database file was written by a binary with
	// another schema version. Rebuild it (`ofp warehouse rebuild`) with this binary.
	ErrSchemaMismatch = errors.New("warehouse: schema version mismatch")
)

// Options tune the DuckDB engine of a Store.
type Options struct {
	// MemoryLimit is DuckDB's memory_limit, e.g. "1GB". Empty keeps DuckDB's
	// default (80% of RAM), which is rarely what a shared host wants.
	MemoryLimit string
	// Threads is DuckDB's worker thread count; 0 keeps DuckDB's default (all cores).
	Threads int
	// LoadThreads, when > 0, is DuckDB's thread count while a load runs
	// (queries that start meanwhile get it too); Threads is restored after.
	// Loads of pipeline batches gain little from more threads (a file's
	// rows are inserted in order) while their workers compete with the
	// pipeline's own CPU: measured on 2 cores, 2 threads cost twice the CPU
	// of 1 for the same load, and more wall time.
	LoadThreads int
	// CheckpointThreshold is DuckDB's checkpoint_threshold: the size of the
	// write-ahead log at which a commit also checkpoints ("16MB" if empty).
	// Loads checkpoint at most every 30 s on their own and Close always
	// does, so a larger threshold spares the pipeline a checkpoint per
	// batch.
	CheckpointThreshold string
	// RefreshDelay is how long after the last load the derived comparison
	// tables are refreshed in the background (2 s in DefaultOptions), so
	// that loads in quick succession share one refresh; while loads keep
	// coming it still runs at least every max(RefreshDelay, 30 s), beside
	// them (a refresh does not hold loads up, nor loads a refresh). 0 turns
	// the background refresh off. Queries of the comparisons refresh first
	// when something is pending, whatever the delay, as do Checkpoint and
	// Close.
	RefreshDelay time.Duration
	// Logger receives load and migration events; nil discards them.
	Logger *slog.Logger
}

// DefaultOptions suits a small shared host.
func DefaultOptions() Options {
	return Options{MemoryLimit: "1GB", Threads: 2, LoadThreads: 1, CheckpointThreshold: "1GB", RefreshDelay: 2 * time.Second}
}

var memoryLimitRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*[A-Za-z]{0,3}$`)

func (o Options) validate() error {
	if o.MemoryLimit != "" && !memoryLimitRE.MatchString(o.MemoryLimit) {
		return fmt.Errorf("warehouse: memory limit %q is not like \"1GB\" or \"512MB\"", o.MemoryLimit)
	}
	if o.CheckpointThreshold != "" && !memoryLimitRE.MatchString(o.CheckpointThreshold) {
		return fmt.Errorf("warehouse: checkpoint threshold %q is not like \"16MB\" or \"1GB\"", o.CheckpointThreshold)
	}
	if o.Threads < 0 || o.LoadThreads < 0 {
		return fmt.Errorf("warehouse: threads must be >= 0, got %d and %d for loads", o.Threads, o.LoadThreads)
	}
	if o.RefreshDelay < 0 {
		return fmt.Errorf("warehouse: refresh delay must be >= 0 (0 = refresh only on demand), got %s", o.RefreshDelay)
	}
	return nil
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (o Options) dsn() string {
	v := url.Values{}
	// The lake is read by the caller; DuckDB must never fetch extensions.
	v.Set("autoinstall_known_extensions", "false")
	v.Set("autoload_known_extensions", "false")
	if o.MemoryLimit != "" {
		v.Set("memory_limit", o.MemoryLimit)
	}
	if o.Threads > 0 {
		v.Set("threads", strconv.Itoa(o.Threads))
	}
	if o.CheckpointThreshold != "" {
		v.Set("checkpoint_threshold", o.CheckpointThreshold)
	}
	return "?" + v.Encode()
}

// catalog is the name the warehouse file is attached under (DuckDB's
// current_database() on every connection of a Store).
const catalog = "wh"

// rowGroupRows is the row group size of the warehouse's tables: a quarter
// of DuckDB's default (122,880). A transaction that appends at least a row
// group to a table writes it to the file as it goes, compressed, instead of
// logging the rows in the write-ahead log at commit and compressing them at
// the next checkpoint: a pipeline load (tens of thousands of items per
// table) is then written once, beside the pipeline, and the checkpoint has
// little left. Measured on the benchmark's fee items (312,800 rows in five
// transactions, one thread), when items were stored in DuckDB tables
// (before schema version 9): 697 ms of inserts and a 485 ms checkpoint
// with the default, 888 ms and 5 ms at this size; scans unchanged. Pages
// and the other tables still gain from it.
const rowGroupRows = 32_768

// open opens the DuckDB database that attaches the warehouse file at path
// (ROW_GROUP_SIZE is an option of ATTACH, not of the main database) and
// makes it every connection's current database.
//
// Strings are not FSST-compressed: DuckDB's dictionary compression already
// covers this data's repetitive strings, and FSST's analysis made up a
// quarter of writing them. Measured on the benchmark's fee items (312,800
// rows in five transactions, one thread): commits 535 ms with FSST, 385 ms
// without; the file 14 MB either way; scans unchanged.
//
// Relative paths in queries resolve in itemsDir (file_search_path): the
// item views name their files relative to it, so that a warehouse and its
// items directory can move together. Every other path the warehouse
// passes DuckDB is absolute.
func (o Options) open(path, itemsDir string, readOnly bool) (*sql.DB, error) {
	opts := fmt.Sprintf("ROW_GROUP_SIZE %d", rowGroupRows)
	if readOnly {
		opts += ", READ_ONLY"
	}
	attach := fmt.Sprintf("ATTACH IF NOT EXISTS %s AS %s (%s)", quoteLiteral(path), catalog, opts)
	c, err := duckdb.NewConnector(o.dsn(), func(ex driver.ExecerContext) error {
		ctx := context.Background()
		if _, err := ex.ExecContext(ctx, attach, nil); err != nil {
			return err
		}
		if _, err := ex.ExecContext(ctx, "SET disabled_compression_methods = 'fsst'", nil); err != nil {
			return err
		}
		if _, err := ex.ExecContext(ctx, "SET file_search_path = "+quoteLiteral(itemsDir), nil); err != nil {
			return err
		}
		// The item files never change: their footers are read once.
		if _, err := ex.ExecContext(ctx, "SET parquet_metadata_cache = true", nil); err != nil {
			return err
		}
		_, err := ex.ExecContext(ctx, "USE "+catalog, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	// Connect now, so that a file that cannot be opened (locked by another
	// process, not a DuckDB file) fails here.
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Store is a DuckDB warehouse file. It is safe for concurrent use; loads are
// serialised inside one Store. Only one process may open a file for writing.
type Store struct {
	db       *sql.DB
	path     string
	readOnly bool
	log      *slog.Logger
	cleanup  func() error
	opts     Options

	// loadMu serialises loads; refreshMu serialises refreshes of the
	// comparison tables. A refresh runs beside loads (it reads the
	// committed loads, writes only the derived tables and the keys it
	// refreshed). Whatever needs both (Refresh, Reset, Checkpoint) takes
	// them with lockAll, loadMu first.
	loadMu    sync.Mutex
	refreshMu sync.Mutex

	ckMu           sync.Mutex
	lastCheckpoint time.Time

	// dirty is set when refresh_pending may have rows (by loads, and by
	// Open when it has), cleared by a refresh that saw every load committed
	// so far; queries check it instead of the table. queuedLoads counts
	// the loads that queued keys; both change under dirtyMu.
	dirty       atomic.Bool
	dirtyMu     sync.Mutex
	queuedLoads int64

	// threadsMu guards threadUsers: the loads and refreshes running with
	// LoadThreads (the setting is restored when the last one ends).
	threadsMu   sync.Mutex
	threadUsers int
	// The background refresh (nil channels when there is none): loaded
	// wakes it after a load, stop ends it, stopped is closed when it has.
	loaded  chan struct{}
	stop    chan struct{}
	stopped chan struct{}

	stats statsRecorder

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the warehouse at path for reading and
// writing and brings its tables to SchemaVersion. A warehouse of an older
// schema version has its tables recreated empty (it is derived data; rebuild
// it from the lake); a newer one is refused with ErrSchemaMismatch.
func Open(path string, opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("warehouse: open %s: %w", path, err)
	}
	if err := os.MkdirAll(ItemsDir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("warehouse: open %s: %w", path, err)
	}
	db, err := opts.open(path, ItemsDir(abs), false)
	if err != nil {
		return nil, fmt.Errorf("warehouse: open %s: %w", path, err)
	}
	// DuckDB folds a write-ahead log it finds into the file as it opens
	// it: the next checkpoint is due checkpointEvery from now, not at the
	// first load.
	s := &Store{db: db, path: abs, log: opts.logger(), opts: opts, lastCheckpoint: time.Now()}
	ctx := context.Background()
	if err := s.sweepItemFiles(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	pending, err := s.hasPendingRefresh(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.dirty.Store(pending)
	if opts.RefreshDelay > 0 {
		s.startRefresher(opts.RefreshDelay)
		if pending {
			s.wakeRefresher()
		}
	}
	return s, nil
}

// OpenReadOnly opens an existing warehouse without writing to it. It fails
// while another process holds the file for writing (DuckDB's file lock); use
// OpenSnapshot, or the owning server's HTTP API, in that case. When loads
// left comparison rows to refresh (the writer stopped without Close), which
// a read-only handle cannot do, its comparisons read the views: the same
// answers, more slowly (reference.go).
func OpenReadOnly(path string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("warehouse: open %s read-only: %w", path, err)
	}
	return openReadOnly(abs, ItemsDir(abs), opts)
}

// openReadOnly opens the file at path read-only with the item files of
// itemsDir (a snapshot copy reads those of the file it copied).
func openReadOnly(path, itemsDir string, opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("warehouse: open %s read-only: %w", path, err)
	}
	db, err := opts.open(path, itemsDir, true)
	if err != nil {
		return nil, fmt.Errorf("warehouse: open %s read-only: %w", path, err)
	}
	s := &Store{db: db, path: path, readOnly: true, log: opts.logger()}
	v, err := s.version(context.Background())
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if v < upgradedInPlace || v > SchemaVersion {
		_ = db.Close()
		return nil, fmt.Errorf("%w: %s has version %d, this binary reads %d; rebuild it with `ofp warehouse rebuild`", ErrSchemaMismatch, path, v, SchemaVersion)
	}
	if v >= itemFilesSince {
		for _, table := range itemTables() {
			if _, err := os.Stat(filepath.Join(itemsDir, table, schemaFile)); err != nil {
				_ = db.Close()
				return nil, fmt.Errorf("warehouse: open %s read-only: its item files are missing (%w); keep %s beside it, or rebuild it with `ofp warehouse rebuild`",
					path, err, itemsDir)
			}
		}
	}
	pending, err := s.hasPendingRefresh(context.Background())
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.dirty.Store(pending)
	return s, nil
}

// hasPendingRefresh reports whether refresh_pending has rows (a file written
// by an older binary may not have the table: nothing is pending then).
func (s *Store) hasPendingRefresh(ctx context.Context) (bool, error) {
	if ok, err := s.hasTable(ctx, pendingTable); err != nil || !ok {
		return false, err
	}
	var pending bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+pendingTable+`)`).Scan(&pending); err != nil {
		return false, fmt.Errorf("warehouse: read %s of %s: %w", pendingTable, s.path, err)
	}
	return pending, nil
}

// OpenSnapshot opens path read-only; when that fails because another handle
// holds the file (a running server), it copies the database file (and its
// write-ahead log, if any) to a temporary directory and opens the copy
// read-only. The store refuses writes; the copy shows the data as of the
// copy; Close removes it.
// The writer checkpoints at most every 30 s, so the copy is normally
// consistent; if the copy happens during a checkpoint the open may fail:
// retry.
func OpenSnapshot(path string, opts Options) (*Store, error) {
	s, err := OpenReadOnly(path, opts)
	if err == nil {
		return s, nil
	}
	if !isLockError(err) {
		return nil, err
	}
	dir, derr := os.MkdirTemp("", "ofp-warehouse-snapshot-")
	if derr != nil {
		return nil, fmt.Errorf("warehouse: snapshot of %s: %w", path, derr)
	}
	cp := filepath.Join(dir, filepath.Base(path))
	if cerr := copyFile(path, cp); cerr != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("warehouse: snapshot of %s: %w", path, cerr)
	}
	if _, serr := os.Stat(path + ".wal"); serr == nil {
		if cerr := copyFile(path+".wal", cp+".wal"); cerr != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("warehouse: snapshot of %s: %w", path, cerr)
		}
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		s, err = openReadOnly(cp, ItemsDir(abs), opts)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("warehouse: open snapshot of %s: %w", path, err)
	}
	s.cleanup = func() error { return os.RemoveAll(dir) }
	s.log.Info("warehouse opened as a snapshot copy", "path", path, "copy", cp)
	return s, nil
}

func isLockError(err error) bool {
	m := err.Error()
	return strings.Contains(m, "Could not set lock") || strings.Contains(m, "Conflicting lock") ||
		strings.Contains(m, "different configuration")
}

// Close stops the background refresh, refreshes the comparison rows loads
// left pending (a writable store), closes the database and removes a
// snapshot copy. If the refresh fails, the keys stay pending for the next
// Open. Later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	s.stopRefresher()
	var err error
	if !s.readOnly {
		if rerr := s.refreshPending(context.Background()); rerr != nil {
			err = fmt.Errorf("warehouse: close %s: %w (the keys stay pending; the next Open refreshes them)", s.path, rerr)
		}
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if s.cleanup != nil {
		if cerr := s.cleanup(); err == nil {
			err = cerr
		}
	}
	return err
}

// ReadOnly reports whether the store refuses writes.
func (s *Store) ReadOnly() bool { return s.readOnly }

// DB exposes the database handle for ad-hoc SQL (benchmarks, the CLI's sql
// command). Do not write through it.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("warehouse: read schema version of %s (is it an ofp warehouse?): %w", s.path, err)
	}
	return int(v.Int64), nil
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, createSchemaVersionSQL); err != nil {
		return fmt.Errorf("warehouse: create schema_version: %w", err)
	}
	v, err := s.version(ctx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: %s has version %d, newer than this binary's %d; use a newer binary", ErrSchemaMismatch, s.path, v, SchemaVersion)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("warehouse: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if v != 0 && v < upgradedInPlace {
		s.log.Warn("warehouse schema is older than this binary: tables recreated empty; run `ofp warehouse rebuild` to reload the lake",
			"path", s.path, "from", v, "to", SchemaVersion)
		if err := dropAll(ctx, tx); err != nil {
			return err
		}
	}
	if err := createAll(ctx, tx, ItemsDir(s.path)); err != nil {
		return err
	}
	if v == upgradedInPlace {
		if err := buildContentIndex(ctx, tx); err != nil {
			return err
		}
		s.log.Info("warehouse content index built from the item tables", "path", s.path, "from", v, "to", SchemaVersion)
	}
	for _, q := range addColumnsSQL() {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("warehouse: add a column (%s): %w", q, err)
		}
	}
	if v >= upgradedInPlace && v < orphansSince {
		if _, err := tx.ExecContext(ctx, fillOrphanContentsSQL()); err != nil {
			return fmt.Errorf("warehouse: list the orphan contents: %w", err)
		}
		s.log.Info("warehouse orphan contents listed from the pages", "path", s.path, "from", v, "to", SchemaVersion)
	}
	if v != SchemaVersion {
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version VALUES (?, ?)`, SchemaVersion, time.Now().UTC()); err != nil {
			return fmt.Errorf("warehouse: record schema version: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("warehouse: migrate: %w", err)
	}
	return nil
}

// buildContentIndex fills the content index from the item tables (a file
// of the version before the index).
func buildContentIndex(ctx context.Context, tx *sql.Tx) error {
	for _, table := range itemTables() {
		if _, err := tx.ExecContext(ctx, indexContentsSQL(table, "SELECT * FROM "+table)); err != nil {
			return fmt.Errorf("warehouse: build the content index of %s: %w", table, err)
		}
	}
	return nil
}

// createAll creates whatever is missing of the current schema: the dataset
// tables, the views over them (replaced, so that their definition is this
// binary's), the loads log, the derived comparison tables and the refresh
// queue.
//
// The item tables are views over their DuckDB tables and their files in
// itemsDir (itemfiles.go).
func createAll(ctx context.Context, tx *sql.Tx, itemsDir string) error {
	for _, name := range Datasets() {
		if _, ok := itemViews[name]; ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, createTableSQL(name)); err != nil {
			return fmt.Errorf("warehouse: create table %s: %w", name, err)
		}
	}
	for _, q := range []string{createItemFilesSQL, createRetiredFilesSQL} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("warehouse: create the item file tables: %w", err)
		}
	}
	if err := createItemTables(ctx, tx, itemsDir); err != nil {
		return err
	}
	for _, name := range Views() {
		if _, err := tx.ExecContext(ctx, createViewSQL(name)); err != nil {
			return fmt.Errorf("warehouse: create view %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, createLoadsSQL); err != nil {
		return fmt.Errorf("warehouse: create table loads: %w", err)
	}
	if _, err := tx.ExecContext(ctx, createContentIndexSQL()); err != nil {
		return fmt.Errorf("warehouse: create table %s: %w", contentIndexTable, err)
	}
	if _, err := tx.ExecContext(ctx, createOrphanContentsSQL); err != nil {
		return fmt.Errorf("warehouse: create table %s: %w", orphanContentsTable, err)
	}
	for _, c := range comparisonSpecs {
		if _, err := tx.ExecContext(ctx, c.createSQL()); err != nil {
			return fmt.Errorf("warehouse: create table %s: %w", c.table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, createPendingSQL); err != nil {
		return fmt.Errorf("warehouse: create table %s: %w", pendingTable, err)
	}
	return nil
}

// dropAll drops the views, the dataset tables, the loads log, the derived
// tables and the refresh queue, whichever exist, each as what it is (in a
// file of version 3, opendata_fees and opendata_rates are tables).
func dropAll(ctx context.Context, tx *sql.Tx) error {
	names := append(Views(), Datasets()...)
	for _, t := range itemTables() {
		names = append(names, t+storedSuffix)
	}
	names = append(names, "loads", pendingTable, contentIndexTable, orphanContentsTable, itemFilesTable, retiredFilesTable)
	for _, c := range comparisonSpecs {
		names = append(names, c.table)
	}
	for _, name := range names {
		typ, err := tableType(ctx, tx, name)
		if err != nil {
			return err
		}
		if typ == "" {
			continue
		}
		kind := "TABLE"
		if typ == "VIEW" {
			kind = "VIEW"
		}
		if _, err := tx.ExecContext(ctx, "DROP "+kind+" "+name); err != nil {
			return fmt.Errorf("warehouse: drop %s %s: %w", strings.ToLower(kind), name, err)
		}
	}
	return nil
}

// lockAll takes loadMu, then refreshMu (the lock order), for what must
// hold up both loads and refreshes; it returns the unlock.
func (s *Store) lockAll() (unlock func()) {
	s.loadMu.Lock()
	s.refreshMu.Lock()
	return func() {
		s.refreshMu.Unlock()
		s.loadMu.Unlock()
	}
}

// Reset drops and recreates every table and view (datasets and the loads log), leaving
// an empty warehouse of the current schema. `ofp warehouse rebuild` calls it
// before reloading the lake.
func (s *Store) Reset(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	defer s.lockAll()()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("warehouse: reset: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := dropAll(ctx, tx); err != nil {
		return err
	}
	if err := createAll(ctx, tx, ItemsDir(s.path)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("warehouse: reset: %w", err)
	}
	s.dirty.Store(false)
	// The files of the items dropped are no longer registered.
	if err := s.sweepItemFiles(ctx); err != nil {
		return fmt.Errorf("warehouse: reset: %w", err)
	}
	s.checkpoint(ctx)
	return nil
}

// loadThreads switches DuckDB to LoadThreads and returns what restores
// Threads (nil when there is nothing to switch). A failed switch only
// costs speed.
func (s *Store) loadThreads(ctx context.Context) func() {
	n := s.opts.LoadThreads
	if n <= 0 || n == s.opts.Threads {
		return nil
	}
	s.threadsMu.Lock()
	defer s.threadsMu.Unlock()
	if s.threadUsers == 0 {
		if _, err := s.db.ExecContext(ctx, "SET threads = "+strconv.Itoa(n)); err != nil {
			s.log.Debug("warehouse: load threads not set", "err", err)
			return nil
		}
	}
	s.threadUsers++
	return func() {
		s.threadsMu.Lock()
		defer s.threadsMu.Unlock()
		if s.threadUsers--; s.threadUsers > 0 {
			return
		}
		q := "RESET threads"
		if s.opts.Threads > 0 {
			q = "SET threads = " + strconv.Itoa(s.opts.Threads)
		}
		if _, err := s.db.ExecContext(context.Background(), q); err != nil {
			s.log.Warn("warehouse: query threads not restored after a load", "err", err)
		}
	}
}

// maybeCheckpoint folds the write-ahead log into the database file at most
// every checkpointEvery; DuckDB also checkpoints by itself when the log
// grows, and Close always does.
func (s *Store) maybeCheckpoint(ctx context.Context) {
	s.ckMu.Lock()
	due := time.Since(s.lastCheckpoint) >= checkpointEvery
	s.ckMu.Unlock()
	if !due || !s.refreshMu.TryLock() {
		return // not due, or a refresh is running: a later load checkpoints
	}
	defer s.refreshMu.Unlock()
	s.checkpoint(ctx)
}

const checkpointEvery = 30 * time.Second

// checkpoint folds the write-ahead log into the database file so that a
// snapshot copy taken by another process is self-contained. Failure is
// harmless (DuckDB checkpoints on its own later).
func (s *Store) checkpoint(ctx context.Context) {
	if err := s.checkpointLocked(ctx); err != nil {
		s.log.Debug("warehouse checkpoint skipped", "err", err)
	}
}

// Checkpoint folds the write-ahead log into the database file now (loads
// do it at most every 30 s, Close always does), so that a snapshot copy
// is self-contained. It waits for a load or refresh under way, and runs
// with all of the store's Threads, not LoadThreads: it is called when
// loading is done (a collection finished, a benchmark ends). It does not
// refresh the derived comparison tables (RefreshPending does; queries are
// exact without it).
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	defer s.lockAll()()
	return s.checkpointLocked(ctx)
}

func (s *Store) checkpointLocked(ctx context.Context) error {
	start := time.Now()
	s.ckMu.Lock()
	s.lastCheckpoint = start
	s.ckMu.Unlock()
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT "+catalog); err != nil {
		return fmt.Errorf("warehouse: checkpoint: %w", err)
	}
	s.stats.checkpoint(time.Since(start))
	return nil
}

// Counts returns the number of rows of every dataset table (Datasets) and
// view (Views).
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(datasets)+len(views))
	for _, name := range append(Datasets(), Views()...) {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+name).Scan(&n); err != nil {
			return nil, fmt.Errorf("warehouse: count %s: %w", name, err)
		}
		out[name] = n
	}
	return out, nil
}

// LoadedOffset is the highest Kafka offset loaded for a topic partition (any dataset).
type LoadedOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Offsets returns, per topic partition, the highest offset any load covered.
// `collect --once` waits until it reaches the produced offsets.
func (s *Store) Offsets(ctx context.Context) ([]LoadedOffset, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT topic, partition, max(last_offset) FROM loads GROUP BY topic, partition ORDER BY topic, partition`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: loaded offsets: %w", err)
	}
	defer rows.Close()
	out := []LoadedOffset{}
	for rows.Next() {
		var o LoadedOffset
		if err := rows.Scan(&o.Topic, &o.Partition, &o.Offset); err != nil {
			return nil, fmt.Errorf("warehouse: loaded offsets: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: loaded offsets: %w", err)
	}
	return out, nil
}

// LoadRecord is one row of the loads log.
type LoadRecord struct {
	Dataset   string    `json:"dataset"`
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	First     int64     `json:"first"`
	Last      int64     `json:"last"`
	Rows      int64     `json:"rows"`
	LoadedAt  time.Time `json:"loaded_at"`
}

// Loads returns the loads log, oldest first.
func (s *Store) Loads(ctx context.Context) ([]LoadRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT dataset, topic, partition, first_offset, last_offset, rows, loaded_at FROM loads ORDER BY loaded_at, dataset, topic, partition, first_offset`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: loads log: %w", err)
	}
	defer rows.Close()
	out := []LoadRecord{}
	for rows.Next() {
		var r LoadRecord
		if err := rows.Scan(&r.Dataset, &r.Topic, &r.Partition, &r.First, &r.Last, &r.Rows, &r.LoadedAt); err != nil {
			return nil, fmt.Errorf("warehouse: loads log: %w", err)
		}
		r.LoadedAt = r.LoadedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: loads log: %w", err)
	}
	return out, nil
}
