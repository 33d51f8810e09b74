package httpx_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/httpx"
)

func decode(t *testing.T, rec *httptest.ResponseRecorder) httpx.ErrorResponse {
	t.Helper()
	var body httpx.ErrorResponse
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&body))
	return body
}

func TestWriteErrorAtShapeAndHeaders(t *testing.T) {
	at := time.Date(2026, 5, 4, 0, 2, 1, 999, time.FixedZone("BRT", -3*3600))
	rec := httptest.NewRecorder()
	httpx.WriteErrorAt(rec, http.StatusUnprocessableEntity, at,
		httpx.ErrorDetail{Code: "DATA_EXPIRACAO_INVALIDA", Title: "Data inválida", Detail: "expirationDateTime is in the past"})

	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	require.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
	require.Equal(t,
		`{"errors":[{"code":"DATA_EXPIRACAO_INVALIDA","title":"Data inválida","detail":"expirationDateTime is in the past"}],"meta":{"requestDateTime":"2026-05-04T03:02:01Z"}}`,
		rec.Body.String(), "UTC, no fraction, spec field order")
}

func TestWriteErrorUsesCurrentUTCTime(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Second)
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, http.StatusNotFound, httpx.ErrorDetail{Code: "NOT_FOUND", Title: "Not found", Detail: "no such path"})
	after := time.Now().UTC()

	body := decode(t, rec)
	require.True(t, strings.HasSuffix(body.Meta.RequestDateTime, "Z"), body.Meta.RequestDateTime)
	got, err := time.Parse(time.RFC3339, body.Meta.RequestDateTime)
	require.NoError(t, err)
	require.False(t, got.Before(before), "%s before %s", got, before)
	require.False(t, got.After(after), "%s after %s", got, after)
}

func TestWriteErrorDefaults(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, http.StatusMethodNotAllowed)
	body := decode(t, rec)
	require.Equal(t, []httpx.ErrorDetail{{Code: "METHOD_NOT_ALLOWED", Title: "Method Not Allowed", Detail: "Method Not Allowed"}}, body.Errors,
		"at least one error, even when none is given")

	rec = httptest.NewRecorder()
	httpx.WriteError(rec, http.StatusConflict, httpx.ErrorDetail{Code: "ALREADY_RUNNING", Detail: "wait"})
	body = decode(t, rec)
	require.Equal(t, []httpx.ErrorDetail{{Code: "ALREADY_RUNNING", Title: "Conflict", Detail: "wait"}}, body.Errors)

	rec = httptest.NewRecorder()
	httpx.WriteError(rec, 599, httpx.ErrorDetail{})
	body = decode(t, rec)
	require.Equal(t, 599, rec.Code)
	require.Equal(t, []httpx.ErrorDetail{{Code: "HTTP_599", Title: "Status 599", Detail: "Status 599"}}, body.Errors)
}

func TestWriteErrorCapsAt13Entries(t *testing.T) {
	errs := make([]httpx.ErrorDetail, 20)
	for i := range errs {
		errs[i] = httpx.ErrorDetail{Code: "C" + strconv.Itoa(i), Title: "T", Detail: "D"}
	}
	orig := append([]httpx.ErrorDetail(nil), errs...)
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, http.StatusUnprocessableEntity, errs...)
	body := decode(t, rec)
	require.Len(t, body.Errors, httpx.MaxErrors)
	require.Equal(t, 13, httpx.MaxErrors)
	require.Equal(t, "C0", body.Errors[0].Code)
	require.Equal(t, "C12", body.Errors[12].Code, "the first 13 are kept, in order")
	require.Equal(t, orig, errs, "the caller's slice is not modified")

	rec = httptest.NewRecorder()
	httpx.WriteError(rec, http.StatusUnprocessableEntity, errs[:13]...)
	require.Len(t, decode(t, rec).Errors, 13)
}

func TestWriteErrorCutsOverlongStrings(t *testing.T) {
	long := strings.Repeat("é", 3000)
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, http.StatusBadRequest, httpx.ErrorDetail{Code: long, Title: long, Detail: long})
	body := decode(t, rec)
	e := body.Errors[0]
	require.Equal(t, httpx.MaxCodeLength, utf8.RuneCountInString(e.Code))
	require.Equal(t, httpx.MaxTitleLength, utf8.RuneCountInString(e.Title))
	require.Equal(t, httpx.MaxDetailLength, utf8.RuneCountInString(e.Detail))
	require.True(t, utf8.ValidString(e.Detail))
}

func TestWriteErrorKeepsHeadersTheCallerSet(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.Header().Set("Cache-Control", "private")
	rec.Header().Set("Allow", "GET, HEAD")
	httpx.WriteError(rec, http.StatusMethodNotAllowed, httpx.ErrorDetail{Code: "X"})
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, "private", rec.Header().Get("Cache-Control"))
	require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	require.NoError(t, httpx.WriteJSON(rec, http.StatusCreated, map[string]int{"a": 1}))
	require.Equal(t, http.StatusCreated, rec.Code)
	require.Equal(t, `{"a":1}`, rec.Body.String())
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "7", rec.Header().Get("Content-Length"))
	require.Empty(t, rec.Header().Get("Cache-Control"), "caching is the caller's choice for success answers")
}

func TestWriteJSONUnencodableWritesNothing(t *testing.T) {
	rec := httptest.NewRecorder()
	err := httpx.WriteJSON(rec, http.StatusOK, math.Inf(1))
	require.ErrorContains(t, err, "float64")
	require.False(t, rec.Flushed)
	require.Empty(t, rec.Header())
	require.Zero(t, rec.Body.Len())

	// The caller can still answer with an error.
	httpx.WriteError(rec, http.StatusInternalServerError, httpx.ErrorDetail{Code: "ERRO_INTERNO"})
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Equal(t, "ERRO_INTERNO", decode(t, rec).Errors[0].Code)
}

func TestWriteErrorOverHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteErrorAt(w, http.StatusForbidden, time.Unix(0, 0), httpx.ErrorDetail{Code: "ACESSO_NEGADO", Title: "Forbidden", Detail: "no"})
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	var body httpx.ErrorResponse
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	require.Equal(t, httpx.ErrorResponse{
		Errors: []httpx.ErrorDetail{{Code: "ACESSO_NEGADO", Title: "Forbidden", Detail: "no"}},
		Meta:   httpx.ErrorMeta{RequestDateTime: "1970-01-01T00:00:00Z"},
	}, body)
}
