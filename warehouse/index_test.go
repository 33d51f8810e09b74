package warehouse

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireIndexMatchesItems checks that the content index holds exactly
// what the item tables say: per item table, each content with the
// distinct values of its items' key overrides.
func requireIndexMatchesItems(t *testing.T, s *Store) {
	t.Helper()
	var parts []string
	for _, table := range itemTables() {
		parts = append(parts, fmt.Sprintf("SELECT DISTINCT '%s' AS item_table, content_key, %s FROM %s", table, strings.Join(keyOverrides(), ", "), table))
	}
	q := `SELECT count(*) FROM ((SELECT * FROM ` + contentIndexTable + ` EXCEPT ALL (` + strings.Join(parts, " UNION ALL ") + `))
  UNION ALL ((` + strings.Join(parts, " UNION ALL ") + `) EXCEPT ALL SELECT * FROM ` + contentIndexTable + `))`
	var diff int
	require.NoError(t, s.DB().QueryRow(q).Scan(&diff))
	require.Zero(t, diff, "content index rows that the item tables do not give, or the other way round")
}

// TestContentIndexFollowsTheLoads: after loads of new contents, known
// contents again, doubled items and a re-batched range, the index holds
// each content of each item table once per distinct key override.
func TestContentIndexFollowsTheLoads(t *testing.T) {
	s, _ := openTemp(t)
	seedTricky(t, s)
	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM `+contentIndexTable).Scan(&n))
	require.Positive(t, n)
	requireIndexMatchesItems(t, s)

	// The same batches again (a pipeline restart): no new item, no new entry.
	before := dump(t, s, contentIndexTable)
	items := dump(t, s, DatasetFeeItems)
	seedTricky(t, s)
	require.Equal(t, before, dump(t, s, contentIndexTable))
	require.Equal(t, items, dump(t, s, DatasetFeeItems))
}

// TestVersion5GetsTheContentIndexInPlace: a file of version 5 (no content
// index) keeps its rows: Open builds the index from the item tables and
// records the current version; a read-only handle reads it before that; loading the
// same batches again afterwards adds no item.
func TestVersion5GetsTheContentIndexInPlace(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	seedTricky(t, s)
	require.NoError(t, s.Refresh(ctx))
	index := dump(t, s, contentIndexTable)
	fees := dump(t, s, DatasetFees)
	items := dump(t, s, DatasetFeeItems)
	asVersion(t, s, 5)
	require.NoError(t, s.Close())

	ro, err := OpenReadOnly(path, DefaultOptions())
	require.NoError(t, err, "version 5 reads as it is")
	require.Equal(t, fees, dump(t, ro, DatasetFees))
	requireStoreMatchesReference(t, ro)
	require.NoError(t, ro.Close())

	var logs strings.Builder
	opts := DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s, err = Open(path, opts)
	require.NoError(t, err)
	defer s.Close()
	v, err := s.version(ctx)
	require.NoError(t, err)
	require.Equal(t, SchemaVersion, v)
	require.Contains(t, logs.String(), "content index built")
	require.NotContains(t, logs.String(), "rebuild")
	require.Equal(t, index, dump(t, s, contentIndexTable))
	require.Equal(t, fees, dump(t, s, DatasetFees))

	seedTricky(t, s)
	require.Equal(t, items, dump(t, s, DatasetFeeItems))
	require.Equal(t, index, dump(t, s, contentIndexTable))
	requireStoreMatchesReference(t, s)
}

// asVersion makes s's file one of schema version v (5 to 8): it stores
// the item tables' rows in DuckDB tables (before version 9), drops the
// tables and columns later versions added and records v.
func asVersion(t *testing.T, s *Store, v int) {
	t.Helper()
	var qs []string
	for _, name := range itemTables() { // version 9
		qs = append(qs, "CREATE TEMP TABLE keep AS SELECT * FROM "+name, "DROP VIEW "+name, "DROP TABLE "+name+storedSuffix,
			createTableSQL(name), "INSERT INTO "+name+" SELECT * FROM keep", "DROP TABLE keep")
	}
	qs = append(qs, "DROP TABLE "+itemFilesTable)
	if v < 8 {
		qs = append(qs, "ALTER TABLE "+DatasetCollections+" DROP COLUMN not_offered")
	}
	if v < 7 {
		qs = append(qs, "DROP TABLE "+orphanContentsTable)
	}
	if v < 6 {
		qs = append(qs, "DROP TABLE "+contentIndexTable)
	}
	qs = append(qs, "DELETE FROM schema_version", fmt.Sprintf("INSERT INTO schema_version VALUES (%d, now())", v))
	for _, q := range qs {
		_, err := s.DB().Exec(q)
		require.NoError(t, err, q)
	}
}
