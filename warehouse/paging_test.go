package warehouse

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var nextRE = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// TestAPIPaging follows the Link headers of a paged endpoint and checks that
// the pages add up to the unpaged answer.
func TestAPIPaging(t *testing.T) {
	s, _ := openTemp(t)
	seedTricky(t, s)
	seedQuality(t, s)
	h := NewAPI(s, nil)

	for _, path := range []string{PathFees, PathRates, PathFeeHistory, PathRateHistory, PathQuality + "?all=true", PathCollections + "?all=true"} {
		rec := get(t, h, path)
		require.Equal(t, http.StatusOK, rec.Code, path)
		require.Empty(t, rec.Header().Get("Link"), path)
		var all []map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &all), path)
		require.Greater(t, len(all), 2, path)

		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		url, pages := path+sep+"limit=2", 0
		var paged []map[string]any
		for url != "" {
			rec := get(t, h, url)
			require.Equal(t, http.StatusOK, rec.Code, url+" "+rec.Body.String())
			var page []map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page), url)
			require.LessOrEqual(t, len(page), 2, url)
			paged = append(paged, page...)
			pages++
			url = ""
			if link := rec.Header().Get("Link"); link != "" {
				m := nextRE.FindStringSubmatch(link)
				require.NotNil(t, m, link)
				url = m[1]
			}
		}
		require.Equal(t, all, paged, path)
		require.Equal(t, (len(all)+1)/2, pages, path) // no empty last page
	}

	for _, url := range []string{PathFees + "?limit=0", PathFees + "?limit=100001", PathFees + "?offset=-1",
		PathRates + "?limit=ten", PathQuality + "?offset=1.5", PathCollections + "?limit=1&limit=2"} {
		rec := get(t, h, url)
		require.Equal(t, http.StatusBadRequest, rec.Code, url)
	}
	rec := get(t, h, PathFees+"?offset=100000")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "[]\n", rec.Body.String())
}
