package warehouse

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// orphans returns the listed orphan contents.
func orphans(t *testing.T, s *Store) []string {
	t.Helper()
	return queryStrings(t, s, `SELECT content_key FROM `+orphanContentsTable+` ORDER BY content_key`)
}

// pageContent returns the content_key of the page at src_offset off.
func pageContent(t *testing.T, s *Store, off int64) string {
	t.Helper()
	keys := queryStrings(t, s, `SELECT DISTINCT content_key FROM `+DatasetPages+` WHERE src_offset = $1`, off)
	require.Len(t, keys, 1)
	return keys[0]
}

// TestOrphanContents: a page loaded without its content's fees or rates
// lists its content once, however many collections bring it; the load
// that brings the items removes it (and queues the page's keys, which
// TestPagesBeforeTheirItems checks); a page loaded with its items lists
// nothing. A version 6 file gets the list in place, from its pages.
func TestOrphanContents(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	vals := []string{"0", "1", "1.00", "2.00", "3.00", "4.00", "0.25", "0.25", "0.25", "0.25"}
	rg := func(p int32, first, last int64) SourceRange {
		return SourceRange{Topic: topic, Partition: p, First: first, Last: last}
	}
	page := func(coll string, off int64, code string) map[string]string {
		return splitFiles(t, []row{with(fee(bankD, coll, t0, code, off, vals...), "src_partition", int32(2))}, nil)
	}

	// A page whose items come later, in two collections.
	early := page("d1", 5, "TED")
	_, err := s.LoadBatch(ctx, rg(2, 5, 5), map[string]string{DatasetPages: early[DatasetPages]})
	require.NoError(t, err)
	c := pageContent(t, s, 5)
	require.Equal(t, []string{c}, orphans(t, s))
	_, err = s.LoadBatch(ctx, rg(2, 6, 6), map[string]string{DatasetPages: page("d2", 6, "TED")[DatasetPages]})
	require.NoError(t, err)
	require.Equal(t, c, pageContent(t, s, 6), "the same content")
	require.Equal(t, []string{c}, orphans(t, s), "listed once")

	// Its items arrive.
	_, err = s.LoadBatch(ctx, rg(3, 0, 0), map[string]string{DatasetFeeItems: early[DatasetFeeItems]})
	require.NoError(t, err)
	require.Empty(t, orphans(t, s))

	// A page with its items: nothing listed.
	_, err = s.LoadBatch(ctx, rg(2, 7, 7), page("d3", 7, "SAQUE"))
	require.NoError(t, err)
	require.Empty(t, orphans(t, s))

	// A page never followed by items stays listed; a version 6 file (no
	// list) gets the same list when opened.
	_, err = s.LoadBatch(ctx, rg(2, 8, 8), map[string]string{DatasetPages: page("d4", 8, "DOC")[DatasetPages]})
	require.NoError(t, err)
	want := orphans(t, s)
	require.Equal(t, []string{pageContent(t, s, 8)}, want)
	asVersion(t, s, 6)
	require.NoError(t, s.Close())
	ro, err := OpenReadOnly(path, DefaultOptions())
	require.NoError(t, err, "version 6 reads as it is")
	require.NoError(t, ro.Close())
	s, err = Open(path, DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, want, orphans(t, s))
	v, err := s.version(ctx)
	require.NoError(t, err)
	require.Equal(t, SchemaVersion, v)
}
