package purposes

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
)

type publicList struct {
	Data []publicPurpose `json:"data"`
	Meta struct {
		RequestDateTime string `json:"requestDateTime"`
	} `json:"meta"`
}

func TestCatalogueIsComplete(t *testing.T) {
	for _, p := range consent.AllPermissions {
		e, ok := Explanation(p)
		require.True(t, ok, "explanation for %s", p)
		require.NotEmpty(t, strings.TrimSpace(e.PtBR), p)
		require.NotEmpty(t, strings.TrimSpace(e.En), p)
		require.NotEqual(t, e.PtBR, e.En, p)
	}
	require.Len(t, permissionExplanations, len(consent.AllPermissions), "no explanation for a permission outside the enum")
	for _, g := range consent.PermissionGroups {
		n, ok := GroupName(g.Name)
		require.True(t, ok, "English name for group %s", g.Name)
		require.NotEmpty(t, n.En)
	}
	require.Len(t, groupNamesEn, len(consent.PermissionGroups))
	for _, b := range LegalBases {
		require.NotEmpty(t, legalBasisNames[b].PtBR, b)
		require.NotEmpty(t, legalBasisNames[b].En, b)
	}
}

func TestPublicList(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, http.StatusCreated, e.do(t, "POST", AdminPrefix, "ada", bodyFor("credit-analysis")).status)

	r := e.do(t, "GET", PublicPrefix, "", "")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, "pt-BR", r.header.Get("Content-Language"))
	require.Equal(t, "public, max-age=60", r.header.Get("Cache-Control"))
	require.Equal(t, "Accept-Language", r.header.Get("Vary"))
	etagPt := r.header.Get("ETag")
	require.Regexp(t, `^"[0-9a-f]{32}"$`, etagPt)
	var l publicList
	require.NoError(t, json.Unmarshal(r.body, &l))
	require.Equal(t, "2026-05-04T03:02:01Z", l.Meta.RequestDateTime)
	require.Len(t, l.Data, 1)
	p := l.Data[0]
	require.Equal(t, "credit-analysis", p.ID)
	require.Equal(t, "Análise de crédito", p.Name)
	require.Equal(t, "Consentimento do titular", p.LegalBasisName)
	require.Equal(t, "ASK_CUSTOMER", p.RevocationRule)
	require.Equal(t, []string{"Contas - Saldos", "Operações de Crédito"}, []string{p.PermissionGroups[0].Name, p.PermissionGroups[1].Name})
	require.Equal(t, []string{consent.PermAccountsRead, consent.PermAccountsBalancesRead, consent.PermResourcesRead}, p.PermissionGroups[0].Permissions)
	require.Len(t, p.Permissions, 2+16+1, "accounts (2) + credit operations (16) + RESOURCES_READ once")
	exp, _ := Explanation(consent.PermAccountsBalancesRead)
	require.Contains(t, p.Permissions, publicPermission{Permission: consent.PermAccountsBalancesRead, Explanation: exp.PtBR})

	r = e.do(t, "GET", PublicPrefix+"/", "", "", "Accept-Language: en-US,en;q=0.9,pt-BR;q=0.5")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "en", r.header.Get("Content-Language"))
	require.NotEqual(t, etagPt, r.header.Get("ETag"), "the ETag depends on the language")
	require.NoError(t, json.Unmarshal(r.body, &l))
	require.Equal(t, "Credit analysis", l.Data[0].Name)
	require.Equal(t, "Credit operations", l.Data[0].PermissionGroups[1].Name)
	require.Contains(t, l.Data[0].Permissions, publicPermission{Permission: consent.PermAccountsBalancesRead, Explanation: exp.En})
}

func TestPublicOneAndConditionalRequests(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, http.StatusCreated, e.do(t, "POST", AdminPrefix, "ada", bodyFor("p1")).status)
	path := PublicPrefix + "/p1"
	r := e.do(t, "GET", path, "", "")
	require.Equal(t, http.StatusOK, r.status)
	var one struct {
		Data publicPurpose `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.body, &one))
	require.Equal(t, "p1", one.Data.ID)
	etag := r.header.Get("ETag")

	r = e.do(t, "GET", path, "", "", "If-None-Match: "+etag)
	require.Equal(t, http.StatusNotModified, r.status)
	require.Empty(t, r.body)
	require.Equal(t, etag, r.header.Get("ETag"))
	require.Equal(t, "public, max-age=60", r.header.Get("Cache-Control"))
	require.Equal(t, http.StatusNotModified, e.do(t, "GET", path, "", "", `If-None-Match: "x", W/`+etag).status)
	require.Equal(t, http.StatusOK, e.do(t, "GET", path, "", "", `If-None-Match: "other"`).status)

	// A change to the purpose changes the ETag.
	changed := strings.Replace(bodyFor("p1"), "Análise de crédito", "Ofertas de crédito", 1)
	require.Equal(t, http.StatusOK, e.do(t, "PUT", AdminPrefix+"/p1", "ada", changed, `If-Match: "1"`).status)
	r = e.do(t, "GET", path, "", "", "If-None-Match: "+etag)
	require.Equal(t, http.StatusOK, r.status)
	require.NotEqual(t, etag, r.header.Get("ETag"))

	r = e.do(t, "GET", PublicPrefix+"/nope", "", "")
	require.Equal(t, []string{CodeNotFound}, requireErr(t, r, http.StatusNotFound))
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	r = e.do(t, "POST", PublicPrefix, "", "{}")
	require.Equal(t, []string{CodeMethodNotAllowed}, requireErr(t, r, http.StatusMethodNotAllowed))
	require.Equal(t, "GET, HEAD", r.header.Get("Allow"))
	require.Equal(t, []string{CodeNotFound}, requireErr(t, e.do(t, "GET", PublicPrefix+"/p1/x", "", ""), http.StatusNotFound))
}

func TestPickLanguage(t *testing.T) {
	cases := map[string]string{
		"":                             LangPtBR,
		"en":                           LangEn,
		"EN-gb":                        LangEn,
		"pt":                           LangPtBR,
		"pt-PT, en":                    LangPtBR,
		"fr, en;q=0.8":                 LangEn,
		"fr, de":                       LangPtBR,
		"en;q=0.4, pt-BR;q=0.9":        LangPtBR,
		"pt-BR;q=0.5, en;q=0.5":        LangPtBR,
		"en;q=0, pt;q=0.1":             LangPtBR,
		"en;q=0":                       LangPtBR,
		"en;q=abc, pt":                 LangPtBR,
		"en;q=2":                       LangPtBR,
		"*":                            LangPtBR,
		"es-419, en-US;q=0.7, *;q=0.1": LangEn,
	}
	for h, want := range cases {
		require.Equal(t, want, PickLanguage(h), "Accept-Language: %q", h)
	}
}

func TestValidate(t *testing.T) {
	base := samplePurpose("ok")
	require.NoError(t, base.Validate())
	cases := []struct {
		name  string
		mut   func(*Purpose)
		field string
		code  string
	}{
		{"id too short", func(p *Purpose) { p.ID = "a" }, "id", CodeInvalidValue},
		{"id uppercase", func(p *Purpose) { p.ID = "Abc" }, "id", CodeInvalidValue},
		{"id double hyphen", func(p *Purpose) { p.ID = "a--b" }, "id", CodeInvalidValue},
		{"id too long", func(p *Purpose) { p.ID = strings.Repeat("a", 65) }, "id", CodeInvalidValue},
		{"blank name", func(p *Purpose) { p.Name.En = "  " }, "name.en", CodeRequired},
		{"long name", func(p *Purpose) { p.Name.PtBR = strings.Repeat("é", 121) }, "name.pt-BR", CodeInvalidValue},
		{"bad utf8", func(p *Purpose) { p.Description.En = "a\xffb" }, "description.en", CodeInvalidValue},
		{"no groups", func(p *Purpose) { p.PermissionGroups = nil }, "permissionGroups", CodeRequired},
		{"duplicate group", func(p *Purpose) { p.PermissionGroups = []string{"Câmbio", "Câmbio"} }, "permissionGroups", CodeInvalidValue},
		{"permission instead of group", func(p *Purpose) { p.PermissionGroups = []string{"ACCOUNTS_READ"} }, "permissionGroups", CodeUnknownGroup},
		{"zero days", func(p *Purpose) { p.DefaultDurationDays = intp(0) }, "defaultDurationDays", CodeBadDuration},
		{"too many days", func(p *Purpose) { p.MaxDurationDays = intp(MaxDurationDaysLimit + 1) }, "maxDurationDays", CodeBadDuration},
		{"default above max", func(p *Purpose) { p.DefaultDurationDays = intp(800) }, "defaultDurationDays", CodeBadDuration},
		{"open default with max", func(p *Purpose) { p.DefaultDurationDays = nil }, "defaultDurationDays", CodeBadDuration},
		{"no legal basis", func(p *Purpose) { p.LegalBasis = "" }, "legalBasis", CodeRequired},
		{"bad legal basis", func(p *Purpose) { p.LegalBasis = "consentimento" }, "legalBasis", CodeInvalidValue},
		{"bad revocation rule", func(p *Purpose) { p.RevocationRule = "DELETE" }, "revocationRule", CodeInvalidValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := samplePurpose("ok")
			tc.mut(&p)
			var ve *ValidationError
			require.ErrorAs(t, p.Validate(), &ve)
			require.Len(t, ve.Fields, 1, "%+v", ve.Fields)
			require.Equal(t, tc.field, ve.Fields[0].Field)
			require.Equal(t, tc.code, ve.Fields[0].Code)
		})
	}
	// Open-ended default and maximum together are fine; so is a default with no maximum.
	p := samplePurpose("ok")
	p.DefaultDurationDays, p.MaxDurationDays = nil, nil
	require.NoError(t, p.Validate())
	p.DefaultDurationDays = intp(MaxDurationDaysLimit)
	require.NoError(t, p.Validate())
}
