package warehouse

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// itemFileNames lists the files of an item table's directory, schema
// file included, sorted.
func itemFileNames(t *testing.T, path, table string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(ItemsDir(path), table))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// registeredNames lists the names item_files registers for table, sorted.
func registeredNames(t *testing.T, s *Store, table string) []string {
	t.Helper()
	return queryStrings(t, s, `SELECT name FROM `+itemFilesTable+` WHERE item_table = '`+table+`' ORDER BY name`)
}

// vals are a fee's minimum, maximum and band values and shares, band 1's value b1.
func vals(b1 string) []string {
	return []string{"0", "1", b1, "2.00", "3.00", "4.00", "0.25", "0.25", "0.25", "0.25"}
}

// reopen opens the warehouse at path for writing and requires it brought
// to SchemaVersion.
func reopen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, DefaultOptions())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	v, err := s.version(context.Background())
	require.NoError(t, err)
	require.Equal(t, SchemaVersion, v)
	return s
}

func at(offset int64) SourceRange {
	return SourceRange{Topic: topic, Partition: 0, First: offset, Last: offset}
}

// TestItemsAreStoredAsTheirFiles: a pipeline's item file whose contents
// are all new is stored as it is (the same bytes) in the items directory
// and registered; its items come back through the view; a content loaded
// again adds no file.
func TestItemsAreStoredAsTheirFiles(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	files := splitFiles(t, []row{fee(bankA, "a1", t0, "TED", 10, vals("1.00")...), with(fee(bankA, "a1", t0, "PIX", 10, vals("2.00")...), "item_index", int32(1))}, nil)
	n, err := s.LoadBatch(ctx, at(10), files)
	require.NoError(t, err)
	require.Equal(t, int64(2), n[DatasetFeeItems])

	names := registeredNames(t, s, DatasetFeeItems)
	require.Len(t, names, 1)
	require.Equal(t, []string{names[0], schemaFile}, itemFileNames(t, path, DatasetFeeItems))
	want, err := os.ReadFile(files[DatasetFeeItems])
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(ItemsDir(path), DatasetFeeItems, names[0]))
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "the pipeline's file, as it is")
	require.Len(t, dump(t, s, DatasetFeeItems), 2)
	require.Len(t, dump(t, s, DatasetFees), 2)

	// The same content on another page: no new file, no new item.
	n, err = s.LoadBatch(ctx, at(11), splitFiles(t, []row{with(fee(bankA, "a2", t0, "TED", 11, vals("1.00")...)), with(fee(bankA, "a2", t0, "PIX", 11, vals("2.00")...), "item_index", int32(1))}, nil))
	require.NoError(t, err)
	require.Zero(t, n[DatasetFeeItems])
	require.Equal(t, names, registeredNames(t, s, DatasetFeeItems))
	require.Len(t, dump(t, s, DatasetFees), 4)
}

// TestItemsOfAFileWithKnownContentsAreRewritten: a file holding a content
// already stored and a new one gets only the new content's items, in a
// file DuckDB writes; each (content_key, item_index) stays once.
func TestItemsOfAFileWithKnownContentsAreRewritten(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	first := splitFiles(t, []row{fee(bankA, "a1", t0, "TED", 10, vals("1.00")...)}, nil)
	_, err := s.LoadBatch(ctx, at(10), first)
	require.NoError(t, err)
	both := splitFiles(t, []row{
		fee(bankA, "a1", t0, "TED", 11, vals("1.00")...),
		fee(bankB, "b1", t0, "TED", 12, vals("3.00")...),
	}, nil)
	n, err := s.LoadBatch(ctx, SourceRange{Topic: topic, First: 11, Last: 12}, both)
	require.NoError(t, err)
	require.Equal(t, int64(1), n[DatasetFeeItems], "only the new content")
	names := registeredNames(t, s, DatasetFeeItems)
	require.Len(t, names, 2)
	require.Len(t, itemFileNames(t, path, DatasetFeeItems), 3)
	var items, distinct int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*), count(DISTINCT (content_key, item_index)) FROM `+DatasetFeeItems).Scan(&items, &distinct))
	require.Equal(t, 2, items)
	require.Equal(t, 2, distinct)
	require.Len(t, dump(t, s, DatasetFees), 3)
	requireStoreMatchesReference(t, s)
}

// TestAFailedLoadLeavesNoItemFile: items are stored before the pages; when
// the pages then fail, the load rolls back and its item files are gone:
// nothing registered, nothing left in the directory.
func TestAFailedLoadLeavesNoItemFile(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	files := splitFiles(t, []row{fee(bankA, "a1", t0, "TED", 10, vals("1.00")...)}, nil)
	_, err := s.LoadBatch(ctx, at(99), files) // the page is at offset 10
	require.ErrorIs(t, err, ErrSourceMismatch)
	require.Empty(t, registeredNames(t, s, DatasetFeeItems))
	require.Equal(t, []string{schemaFile}, itemFileNames(t, path, DatasetFeeItems))
	require.Empty(t, dump(t, s, DatasetFeeItems))

	// The same batch, right, loads.
	n, err := s.LoadBatch(ctx, at(10), files)
	require.NoError(t, err)
	require.Equal(t, int64(1), n[DatasetFeeItems])
}

// TestOpenSweepsItemFiles: Open removes the files no load committed (a
// crash between storing and committing) and refuses a warehouse whose
// registered files are gone, saying to rebuild it.
func TestOpenSweepsItemFiles(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	_, err := s.LoadBatch(ctx, at(10), splitFiles(t, []row{fee(bankA, "a1", t0, "TED", 10, vals("1.00")...)}, nil))
	require.NoError(t, err)
	want := dump(t, s, DatasetFees)
	require.NoError(t, s.Close())

	dir := filepath.Join(ItemsDir(path), DatasetFeeItems)
	registered := itemFileNames(t, path, DatasetFeeItems)
	stray := filepath.Join(dir, "20260101T000000.000000000Z-000000000000.parquet")
	require.NoError(t, os.WriteFile(stray, []byte("a crashed load's file"), 0o644))
	require.NoError(t, os.WriteFile(stray+".tmp", []byte("a partial copy"), 0o644))
	s, err = Open(path, DefaultOptions())
	require.NoError(t, err)
	require.Equal(t, registered, itemFileNames(t, path, DatasetFeeItems))
	require.Equal(t, want, dump(t, s, DatasetFees))
	require.NoError(t, s.Close())

	for _, name := range registered {
		if name != schemaFile {
			require.NoError(t, os.Remove(filepath.Join(dir, name)))
		}
	}
	_, err = Open(path, DefaultOptions())
	require.ErrorContains(t, err, "ofp warehouse rebuild")
	require.ErrorContains(t, err, DatasetFeeItems)

	require.NoError(t, os.RemoveAll(ItemsDir(path)))
	_, err = OpenReadOnly(path, DefaultOptions())
	require.ErrorContains(t, err, "item files are missing")
}

// TestReplaceSwitchesWarehouseAndItems: a rebuilt warehouse replaces the
// old one with its item files; a reader right after sees the new data,
// and the next Open removes the old warehouse's files.
func TestReplaceSwitchesWarehouseAndItems(t *testing.T) {
	dir := t.TempDir()
	final, tmp := filepath.Join(dir, "wh.duckdb"), filepath.Join(dir, "wh.duckdb.rebuild")
	ctx := context.Background()
	old, err := Open(final, DefaultOptions())
	require.NoError(t, err)
	_, err = old.LoadBatch(ctx, at(10), splitFiles(t, []row{fee(bankA, "a1", t0, "TED", 10, vals("1.00")...)}, nil))
	require.NoError(t, err)
	oldFiles := registeredNames(t, old, DatasetFeeItems)
	require.NoError(t, old.Close())

	rebuilt, err := Open(tmp, DefaultOptions())
	require.NoError(t, err)
	_, err = rebuilt.LoadBatch(ctx, at(10), splitFiles(t, []row{fee(bankB, "b1", t0, "PIX", 10, vals("5.00")...)}, nil))
	require.NoError(t, err)
	want := dump(t, rebuilt, DatasetFees)
	newFiles := registeredNames(t, rebuilt, DatasetFeeItems)
	require.Error(t, Replace(tmp, final), "open, with a write-ahead log")
	require.NoError(t, rebuilt.Close())

	require.NoError(t, Replace(tmp, final))
	_, err = os.Stat(ItemsDir(tmp))
	require.ErrorIs(t, err, os.ErrNotExist)
	ro, err := OpenReadOnly(final, DefaultOptions())
	require.NoError(t, err)
	require.Equal(t, want, dump(t, ro, DatasetFees))
	require.NoError(t, ro.Close())

	s, err := Open(final, DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, want, dump(t, s, DatasetFees))
	require.Equal(t, append(newFiles, schemaFile), itemFileNames(t, final, DatasetFeeItems))
	require.NotEqual(t, oldFiles, newFiles)

	require.NoError(t, s.Close())
	require.NoError(t, Remove(final))
	for _, p := range []string{final, ItemsDir(final)} {
		_, err := os.Stat(p)
		require.ErrorIs(t, err, os.ErrNotExist)
	}
}

// TestVersion8ItemsAreKept: a file of version 8 (items in DuckDB tables)
// reads as it is read-only; opened for writing, its item tables become
// the DuckDB tables of the item views, every row kept, no file written.
func TestVersion8ItemsAreKept(t *testing.T) {
	s, path := openTemp(t)
	seedTricky(t, s)
	ctx := context.Background()
	require.NoError(t, s.Refresh(ctx))
	items := map[string][]string{}
	for _, table := range []string{DatasetFeeItems, DatasetRateItems} {
		items[table] = dump(t, s, table)
		require.NotEmpty(t, items[table])
	}
	fees := dump(t, s, DatasetFees)
	asVersion(t, s, 8)
	require.NoError(t, s.Close())
	require.NoError(t, os.RemoveAll(ItemsDir(path)))

	ro, err := OpenReadOnly(path, DefaultOptions())
	require.NoError(t, err)
	require.Equal(t, fees, dump(t, ro, DatasetFees))
	require.NoError(t, ro.Close())

	s = reopen(t, path)
	for table, want := range items {
		require.Equal(t, want, dump(t, s, table), table)
		require.Equal(t, want, dump(t, s, table+storedSuffix), table)
		require.Empty(t, registeredNames(t, s, table), table)
	}
	require.Equal(t, fees, dump(t, s, DatasetFees))
	requireStoreMatchesReference(t, s)
}

// TestItemFilesAreFolded: when a table has more than foldAt files (or
// they hold more than foldRows items), the load that adds one folds them
// into the DuckDB table, every item kept; the folded files stay readable
// for retiredGrace, then go; Open removes those still there.
func TestItemFilesAreFolded(t *testing.T) {
	at, rows, grace := foldAt, foldRows, retiredGrace
	foldAt, retiredGrace = 3, time.Hour
	t.Cleanup(func() { foldAt, foldRows, retiredGrace = at, rows, grace })
	s, path := openTemp(t)
	ctx := context.Background()
	load := func(offset int64, b1 string) {
		t.Helper()
		_, err := s.LoadBatch(ctx, SourceRange{Topic: topic, First: offset, Last: offset},
			splitFiles(t, []row{fee(bankA, fmt.Sprint("a", offset), t0.Add(time.Duration(offset)*time.Hour), "TED", offset, vals(b1)...)}, nil))
		require.NoError(t, err)
	}
	stored := func() int {
		t.Helper()
		return len(dump(t, s, DatasetFeeItems+storedSuffix))
	}
	for i := range 3 {
		load(int64(10+i), fmt.Sprintf("1.%d", i))
	}
	require.Len(t, registeredNames(t, s, DatasetFeeItems), 3, "not more than foldAt yet")
	require.Zero(t, stored())
	load(13, "1.3")
	items := dump(t, s, DatasetFeeItems)
	require.Len(t, items, 4)
	require.Empty(t, registeredNames(t, s, DatasetFeeItems), "four files folded")
	require.Equal(t, 4, stored())
	st := s.Stats()
	require.Equal(t, int64(1), st.Folds)
	require.Equal(t, int64(4), st.FoldedFiles)
	require.Equal(t, int64(4), st.FoldedItems)
	require.Positive(t, st.Fold)
	require.Len(t, itemFileNames(t, path, DatasetFeeItems), 5, "the folded four kept for the grace period, and the schema file")
	require.Len(t, queryStrings(t, s, `SELECT name FROM `+retiredFilesTable), 4)
	requireStoreMatchesReference(t, s)

	// After the grace period, the next fold pass removes them.
	retiredGrace = 0
	load(14, "1.4")
	require.Len(t, registeredNames(t, s, DatasetFeeItems), 1)
	require.Len(t, itemFileNames(t, path, DatasetFeeItems), 2)
	require.Empty(t, queryStrings(t, s, `SELECT name FROM `+retiredFilesTable))
	require.Len(t, dump(t, s, DatasetFeeItems), 5)

	// Files of many items are folded however few; retired files not yet
	// removed are removed by the next Open.
	retiredGrace, foldRows = time.Hour, 1
	load(15, "1.5")
	require.Empty(t, registeredNames(t, s, DatasetFeeItems))
	require.Equal(t, 6, stored())
	require.Len(t, queryStrings(t, s, `SELECT name FROM `+retiredFilesTable), 2)
	items = dump(t, s, DatasetFeeItems)
	require.Len(t, items, 6)
	require.NoError(t, s.Close())
	s, err := Open(path, DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, []string{schemaFile}, itemFileNames(t, path, DatasetFeeItems))
	require.Empty(t, queryStrings(t, s, `SELECT name FROM `+retiredFilesTable))
	require.Equal(t, items, dump(t, s, DatasetFeeItems))
	requireStoreMatchesReference(t, s)
}
