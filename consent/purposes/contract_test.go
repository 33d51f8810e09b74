package purposes

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

// TestStoreContract runs the one contract suite against every engine.
func TestStoreContract(t *testing.T) {
	for name, nb := range engines() {
		t.Run(name, func(t *testing.T) { testStoreContract(t, nb) })
	}
}

// t0 has sub-microsecond digits on purpose: stores keep microseconds.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

func intp(v int) *int { return &v }

func samplePurpose(id string) Purpose {
	return Purpose{
		ID:                  id,
		Name:                Text{PtBR: "Análise de crédito", En: "Credit analysis"},
		Description:         Text{PtBR: "Usamos seus dados para oferecer crédito.", En: "We use your data to offer you credit."},
		PermissionGroups:    []string{"Contas - Saldos", "Operações de Crédito"},
		DefaultDurationDays: intp(365),
		MaxDurationDays:     intp(730),
		LegalBasis:          LegalBasisConsentimento,
		RevocationRule:      AskCustomer,
	}
}

func testStoreContract(t *testing.T, nb newBackend) {
	ctx := context.Background()

	t.Run("create, get and list round-trip every field", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		p := samplePurpose("credit-analysis")
		created, err := s.Create(ctx, p)
		require.NoError(t, err)
		want := samplePurpose("credit-analysis")
		want.CreatedAt, want.UpdatedAt, want.Version = t0.Truncate(time.Microsecond), t0.Truncate(time.Microsecond), 1
		require.Equal(t, want, created)

		got, err := s.Get(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, time.UTC, got.CreatedAt.Location())

		open := samplePurpose("aaa-open-ended")
		open.DefaultDurationDays, open.MaxDurationDays = nil, nil
		_, err = s.Create(ctx, open)
		require.NoError(t, err)
		list, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, "aaa-open-ended", list[0].ID, "ordered by id")
		require.Nil(t, list[0].DefaultDurationDays)
		require.Nil(t, list[0].MaxDurationDays)
		require.Equal(t, want, list[1])
	})

	t.Run("list of an empty store is empty, not nil", func(t *testing.T) {
		s := nb(t).Open(t, Options{})
		list, err := s.List(ctx)
		require.NoError(t, err)
		require.NotNil(t, list)
		require.Empty(t, list)
	})

	t.Run("create rejects duplicates and invalid purposes", func(t *testing.T) {
		s := nb(t).Open(t, Options{})
		_, err := s.Create(ctx, samplePurpose("dup"))
		require.NoError(t, err)
		_, err = s.Create(ctx, samplePurpose("dup"))
		require.ErrorIs(t, err, ErrAlreadyExists)

		bad := samplePurpose("bad")
		bad.PermissionGroups = []string{"Contas - Saques"}
		_, err = s.Create(ctx, bad)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, CodeUnknownGroup, ve.Fields[0].Code)
		_, err = s.Get(ctx, "bad")
		require.ErrorIs(t, err, ErrNotFound)
	})

	t.Run("update checks the version, keeps createdAt and bumps version", func(t *testing.T) {
		clk := newTestClock(t0)
		s := nb(t).Open(t, clk.opts())
		_, err := s.Create(ctx, samplePurpose("p1"))
		require.NoError(t, err)
		clk.Advance(time.Hour)

		p := samplePurpose("p1")
		p.PermissionGroups = []string{"Investimento"}
		p.MaxDurationDays = nil
		p.RevocationRule = RevokeLinked
		updated, err := s.Update(ctx, p, 1)
		require.NoError(t, err)
		require.Equal(t, int64(2), updated.Version)
		require.Equal(t, t0.Truncate(time.Microsecond), updated.CreatedAt)
		require.Equal(t, t0.Add(time.Hour).Truncate(time.Microsecond), updated.UpdatedAt)
		require.Equal(t, []string{"Investimento"}, updated.PermissionGroups)
		require.Nil(t, updated.MaxDurationDays)
		require.Equal(t, RevokeLinked, updated.RevocationRule)

		_, err = s.Update(ctx, p, 1)
		require.ErrorIs(t, err, ErrVersionConflict, "stale version")
		_, err = s.Update(ctx, samplePurpose("missing"), 1)
		require.ErrorIs(t, err, ErrNotFound)
		p.LegalBasis = "VONTADE_DO_BANCO"
		_, err = s.Update(ctx, p, 2)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		got, err := s.Get(ctx, "p1")
		require.NoError(t, err)
		require.Equal(t, updated, got, "failed updates change nothing")
	})

	t.Run("concurrent updates of one version: exactly one wins", func(t *testing.T) {
		s := nb(t).Open(t, Options{})
		_, err := s.Create(ctx, samplePurpose("p1"))
		require.NoError(t, err)
		const n = 4
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := samplePurpose("p1")
				p.DefaultDurationDays = intp(100 + i)
				_, err := s.Update(ctx, p, 1)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			if err == nil {
				won++
				continue
			}
			require.ErrorIs(t, err, ErrVersionConflict)
		}
		require.Equal(t, 1, won)
		got, err := s.Get(ctx, "p1")
		require.NoError(t, err)
		require.Equal(t, int64(2), got.Version)
	})

	t.Run("delete checks the version when given", func(t *testing.T) {
		s := nb(t).Open(t, Options{})
		_, err := s.Create(ctx, samplePurpose("p1"))
		require.NoError(t, err)
		_, err = s.Create(ctx, samplePurpose("p2"))
		require.NoError(t, err)
		require.ErrorIs(t, s.Delete(ctx, "p1", 7), ErrVersionConflict)
		require.NoError(t, s.Delete(ctx, "p1", 1))
		require.ErrorIs(t, s.Delete(ctx, "p1", 0), ErrNotFound)
		require.NoError(t, s.Delete(ctx, "p2", 0))
		_, err = s.Get(ctx, "p2")
		require.ErrorIs(t, err, ErrNotFound)
	})

	t.Run("migrations re-run idempotently", func(t *testing.T) {
		b := nb(t)
		s1 := b.Open(t, Options{})
		_, err := s1.Create(ctx, samplePurpose("kept"))
		require.NoError(t, err)
		s2 := b.Open(t, Options{})
		got, err := s2.Get(ctx, "kept")
		require.NoError(t, err)
		require.Equal(t, "kept", got.ID)
		var n int
		require.NoError(t, s2.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM purposes_migrations`).Scan(&n))
		require.Equal(t, 1, n)
	})

	t.Run("permissions are the union of the groups", func(t *testing.T) {
		p := samplePurpose("x")
		perms := p.Permissions()
		require.Contains(t, perms, consent.PermAccountsBalancesRead)
		require.Contains(t, perms, consent.PermLoansRead)
		require.NotContains(t, perms, consent.PermFundsRead)
		n := 0
		for _, x := range perms {
			if x == consent.PermResourcesRead {
				n++
			}
		}
		require.Equal(t, 1, n, "RESOURCES_READ once")
	})
}
