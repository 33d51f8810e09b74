package purposes

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParsePurposeBody: the admin body parser never panics, only fails
// with a *BodyError, and whatever it accepts and Validate passes survives
// a round trip through the wire shape unchanged.
func FuzzParsePurposeBody(f *testing.F) {
	f.Add([]byte(bodyFor("credit-analysis")))
	f.Add([]byte(`{"data":{}}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`{"data":{"id":"a1","name":{"pt-BR":"x","en":"y"},"description":{"pt-BR":"x","en":"y"},"permissionGroups":["Câmbio"],"legalBasis":"OBRIGACAO_LEGAL","revocationRule":"KEEP_LINKED"}}`))
	f.Add([]byte(`{"data":{"id":"a1","maxDurationDays":1e400}}`))
	f.Add([]byte(`{"data":{"id":"a1","defaultDurationDays":-1,"permissionGroups":[null]}}`))
	f.Add([]byte(`{"data":{"version":3,"createdAt":"x"}} {}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePurposeBody(bytes.NewReader(b))
		if err != nil {
			var be *BodyError
			require.True(t, errors.As(err, &be), "%T %v", err, err)
			require.NotEmpty(t, be.Reason)
			return
		}
		if p.Validate() != nil {
			return
		}
		w := toWire(p)
		out, err := json.Marshal(map[string]any{"data": map[string]any{
			"id": w.ID, "name": w.Name, "description": w.Description, "permissionGroups": w.PermissionGroups,
			"defaultDurationDays": w.DefaultDurationDays, "maxDurationDays": w.MaxDurationDays,
			"legalBasis": w.LegalBasis, "revocationRule": w.RevocationRule,
		}})
		require.NoError(t, err)
		again, err := ParsePurposeBody(bytes.NewReader(out))
		require.NoError(t, err)
		require.Equal(t, p, again)
		require.False(t, strings.Contains(w.ID, "/"), "a valid id never contains a path separator")
	})
}
