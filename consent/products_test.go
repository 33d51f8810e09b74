package consent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEveryFunctionalPermissionHasAProduct(t *testing.T) {
	for _, p := range AllPermissions {
		_, ok := ProductOf(p)
		require.Equal(t, p != PermResourcesRead, ok, p)
	}
}

func TestKeepOffered(t *testing.T) {
	perms := []string{PermAccountsRead, PermAccountsBalancesRead, PermResourcesRead, PermExchangesRead}

	kept, ok := KeepOffered(perms, nil)
	require.True(t, ok)
	require.Equal(t, perms, kept)

	kept, ok = KeepOffered(perms, []Product{ProductAccounts})
	require.True(t, ok)
	require.Equal(t, []string{PermAccountsRead, PermAccountsBalancesRead, PermResourcesRead}, kept)

	kept, ok = KeepOffered(perms, []Product{ProductInvestments})
	require.False(t, ok)
	require.Empty(t, kept)

	_, ok = KeepOffered([]string{PermResourcesRead}, nil)
	require.False(t, ok, "RESOURCES_READ alone is not functional")
}
