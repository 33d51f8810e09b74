package opendata

import (
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePagination(t *testing.T) {
	cases := []struct {
		body string
		want pagination
		err  bool
	}{
		{`{"links":{"next":"https://h/p?page=2"},"meta":{"totalPages":3}}`, pagination{Next: "https://h/p?page=2", TotalPages: 3, HasTotalPages: true}, false},
		{`{"links":{"next":null},"meta":{"totalPages":"4"}}`, pagination{TotalPages: 4, HasTotalPages: true}, false},
		{`{"links":{"next":42},"meta":{"totalPages":1.5}}`, pagination{}, false},
		{`{"links":"x","meta":[]}`, pagination{}, false},
		{`{"meta":{"totalPages":-1}}`, pagination{}, false},
		{`{"meta":{"totalPages":99999999999999}}`, pagination{}, false},
		{`[1,2]`, pagination{}, false},
		{`null`, pagination{}, false},
		{`{"links":{"next":"a"}`, pagination{}, true},
		{``, pagination{}, true},
	}
	for _, c := range cases {
		got, err := parsePagination([]byte(c.body))
		if c.err {
			require.ErrorIs(t, err, errMalformed, c.body)
			continue
		}
		require.NoError(t, err, c.body)
		require.Equal(t, c.want, got, c.body)
	}
}

func TestNextURL(t *testing.T) {
	cur, err := url.Parse("https://h.example/open-banking/opendata-loans/v1/personal-loans?page-size=25&page=2")
	require.NoError(t, err)

	next, err := nextURL(cur, 2, pagination{TotalPages: 5, HasTotalPages: true})
	require.NoError(t, err)
	require.Equal(t, "https://h.example/open-banking/opendata-loans/v1/personal-loans?page=3&page-size=25", next)

	next, err = nextURL(cur, 2, pagination{Next: "?page=3#frag"})
	require.NoError(t, err)
	require.Equal(t, "https://h.example/open-banking/opendata-loans/v1/personal-loans?page=3", next)

	next, err = nextURL(cur, 2, pagination{Next: "https://h.example/x", TotalPages: 2, HasTotalPages: true})
	require.NoError(t, err)
	require.Empty(t, next, "meta says last page")

	next, err = nextURL(cur, 2, pagination{})
	require.NoError(t, err)
	require.Empty(t, next)

	_, err = nextURL(cur, 2, pagination{Next: "http://[::1"})
	require.Error(t, err)

	// Parsed as a reference, refused once resolved (FuzzPagination).
	_, err = nextURL(cur, 2, pagination{Next: "//\xa4e&::?x@y/z"})
	require.ErrorContains(t, err, "not a usable URL")
}

func FuzzPagination(f *testing.F) {
	example, err := os.ReadFile("testdata/personal-loans-example.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example, 1)
	f.Add([]byte(`{"links":{"next":"/p?page=2"},"meta":{"totalPages":3}}`), 1)
	f.Add([]byte(`{"links":{"next":"//evil.example/x"}}`), 2)
	f.Add([]byte(`{"meta":{"totalPages":"7"}}`), 6)
	f.Add([]byte(`{"links":{"next":"javascript:alert(1)"}}`), 1)
	f.Add([]byte(`[{"links":1}]`), 1)
	f.Fuzz(func(t *testing.T, body []byte, number int) {
		p, err := parsePagination(body)
		if err != nil {
			return
		}
		if p.TotalPages < 0 {
			t.Fatalf("negative totalPages %d", p.TotalPages)
		}
		cur, _ := url.Parse("https://h.example/base/personal-loans?page-size=10")
		next, err := nextURL(cur, number, p)
		if err != nil || next == "" {
			return
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatalf("nextURL returned an unparseable URL %q: %v", next, err)
		}
		if p.Next == "" {
			// Built from meta: same host and path, page = number+1.
			if u.Host != cur.Host || u.Path != cur.Path || u.Query().Get("page") != strconv.Itoa(number+1) {
				t.Fatalf("meta next %q", next)
			}
		}
		if u.Fragment != "" {
			t.Fatalf("fragment kept in %q", next)
		}
		// Whatever the link, the guard decides; it must not panic and must
		// refuse anything off-host.
		if sameOrigin(cur, u) == nil && !strings.EqualFold(u.Host, cur.Host) {
			t.Fatalf("guard let %q through", next)
		}
	})
}
