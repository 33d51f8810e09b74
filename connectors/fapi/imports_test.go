package fapi_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuiltOnlyOnTheStandardLibrariesNamed keeps the client independent of
// the server it is tested against: no ofp package, only the stdlib,
// x/oauth2, go-jose and google/uuid.
func TestBuiltOnlyOnTheStandardLibrariesNamed(t *testing.T) {
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	allowed := []string{"golang.org/x/oauth2", "github.com/go-jose/go-jose/v4", "github.com/google/uuid"}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(strings.Split(path, "/")[0], ".") {
				continue // standard library
			}
			ok := false
			for _, a := range allowed {
				ok = ok || path == a || strings.HasPrefix(path, a+"/")
			}
			require.True(t, ok, "%s imports %s", e.Name(), path)
		}
	}
}
