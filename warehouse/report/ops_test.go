package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/warehouse"
)

func TestQualityTable(t *testing.T) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	alfa := warehouse.QualityRow{OrganisationID: "org-a", InstitutionCNPJ: "11111111000111", InstitutionName: "Banco Alfa", Brand: "Alfa",
		CollectionID: "c1", CollectedAt: at}
	row := func(base warehouse.QualityRow, cat, kind, detail string, n int64) warehouse.QualityRow {
		base.Category, base.Kind, base.Detail, base.Count = cat, kind, detail, n
		return base
	}
	beta := alfa
	beta.OrganisationID, beta.InstitutionCNPJ, beta.InstitutionName, beta.Brand, beta.Simulated = "org-b", "22222222000122", "Banco Beta", "Banco Beta", true
	rows := []warehouse.QualityRow{
		row(alfa, warehouse.QualityFinding, "", "maxLength", 2),
		row(alfa, warehouse.QualityQuarantine, "fee", "duplicated band 2_FAIXA", 7),
		row(alfa, warehouse.QualityPages, "", "", 25),
		row(alfa, warehouse.QualityPagesWithErrors, "", "", 3),
		row(beta, warehouse.QualityPages, "", "", 4),
		row(beta, warehouse.QualityPagesWithErrors, "", "", 0),
	}
	company := alfa
	company.InstitutionCNPJ, company.InstitutionName = "11111111000292", "Alfa Financeira" // a company listed in Alfa's pages
	rows = append(rows, row(company, warehouse.QualityQuarantine, "rate", "missing minimumRate", 1),
		row(company, warehouse.QualityPages, "", "", 0), row(company, warehouse.QualityPagesWithErrors, "", "", 0))
	var buf bytes.Buffer
	require.NoError(t, QualityTable(&buf, rows))
	sections := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n\n")
	require.Len(t, sections, 3)
	require.Contains(t, sections[2], "0 pages, 0 with errors; 0 findings, 1 item quarantined\nNo pages under this CNPJ")
	require.NotContains(t, sections[0]+sections[1], "No pages under this CNPJ")
	sections = sections[:2]
	a := strings.Split(sections[0], "\n")
	require.Equal(t, "Banco Alfa (Alfa, CNPJ 11111111000111) — collection c1, 2026-03-10 12:00 UTC", a[0])
	require.Equal(t, "25 pages, 3 with errors; 2 findings, 7 items quarantined", a[1])
	require.Equal(t, []string{"COUNT", "WHAT", "KIND", "RULE", "OR", "REASON"}, strings.Fields(a[2]))
	require.Equal(t, []string{"7", "quarantined", "fee", "duplicated", "band", "2_FAIXA"}, strings.Fields(a[3]), "the most frequent first")
	require.Equal(t, []string{"2", "finding", "-", "maxLength"}, strings.Fields(a[4]))
	require.Equal(t, "Banco Beta (CNPJ 22222222000122) — collection c1, 2026-03-10 12:00 UTC [SIMULATED]\n"+
		"4 pages, 0 with errors; 0 findings, 0 items quarantined", sections[1])

	buf.Reset()
	require.NoError(t, QualityTable(&buf, nil))
	require.Equal(t, "no collection matches\n", buf.String())
}

func TestCollectionsTable(t *testing.T) {
	start := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	rows := []warehouse.CollectionRun{
		{CollectionID: "c1", OrganisationName: "Banco Alfa", Brand: "Alfa", InstitutionCNPJ: "11111111000111", Status: "partial",
			StartedAt: start, FinishedAt: start.Add(1500 * time.Millisecond), Endpoints: 12, Pages: 30, FailedPages: 2, Retries: 5,
			Errors: []string{"personal-loans: HTTP 503", "business-loans: HTTP 503"}, NotOffered: []string{"products-services/business-accounts"}},
		{CollectionID: "c1", OrganisationName: "Banco Beta", Brand: "Beta", InstitutionCNPJ: "22222222000122", Status: "ok", Simulated: true,
			StartedAt: start, FinishedAt: start.Add(time.Second), Endpoints: 12, Pages: 12, Errors: []string{}},
	}
	var buf bytes.Buffer
	require.NoError(t, CollectionsTable(&buf, rows))
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	require.Len(t, lines, 3)
	require.True(t, strings.HasPrefix(lines[0], "INSTITUTION"))
	require.Equal(t, []string{"Banco", "Alfa", "Alfa", "11111111000111", "partial", "2026-03-10", "12:00", "1.5s", "12", "1", "30", "2", "5",
		"personal-loans:", "HTTP", "503", "(+1", "more)"}, strings.Fields(lines[1]))
	require.Contains(t, lines[2], "SIMULATED")
	require.True(t, strings.HasSuffix(lines[2], " -"), lines[2])
}

func TestQuarantineTable(t *testing.T) {
	rows := []warehouse.QuarantinedItem{{InstitutionName: "Banco Alfa", Product: "personal-loans", Kind: "rate",
		Reason: "missing referentialRateIndexer", Page: 2, RecordIndex: 3, Raw: `{"rate":"0.1"}`, URL: "https://alfa.example/x",
		CollectedAt: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}}
	var buf bytes.Buffer
	require.NoError(t, QuarantineTable(&buf, rows))
	out := buf.String()
	require.Contains(t, out, "2026-03-10 12:00  Banco Alfa   personal-loans  rate  missing referentialRateIndexer     2       3")
	require.NotContains(t, out, `"rate"`, "the raw JSON is for the files")
	require.Contains(t, out, "--format json or csv shows its raw JSON")

	buf.Reset()
	require.NoError(t, QuarantineJSON(&buf, nil))
	require.Equal(t, "[]\n", buf.String())
}
