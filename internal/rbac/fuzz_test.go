package rbac

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A valid bcrypt hash (cost 10) used only as fuzz seed material.
const seedHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"users":[{"username":"ada","passwordHash":"` + seedHash + `","roles":["admin"]}]}`))
	f.Add([]byte(`{"users":[{"username":"76109277673","passwordHash":"` + seedHash + `","roles":["customer"],"customerDocument":"76109277673"}]}`))
	f.Add([]byte(`{"users":[{"username":"a","passwordHash":"` + seedHash + `","roles":["viewer","viewer"]}]}`))
	f.Add([]byte(`{"users":[{"username":"a:b","passwordHash":"` + seedHash + `x","roles":["root"]}]}`))
	f.Add([]byte(`{"users":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"users":[{"passwordHash":7}]}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.NotContains(t, err.Error(), seedHash)
			return
		}
		require.NoError(t, c.Validate())
		require.NotEmpty(t, c.Users)
		for _, u := range c.Users {
			require.NotContains(t, u.Username, ":")
			require.NotEmpty(t, u.Roles)
			require.False(t, strings.Contains(u.String(), u.PasswordHash))
		}
	})
}
