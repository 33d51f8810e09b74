package customerdata

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ofp-dev/ofp/connectors/corebank"
)

// Paging limits of the specs and the pagination standard.
const (
	DefaultPageSize = 25
	MaxPageSize     = 1000
	maxPage         = 2147483647
	maxKeyLength    = 2048
)

// pageReq is the page a client asked for.
type pageReq struct{ page, size int }

func (p pageReq) core() corebank.PageRequest {
	return corebank.PageRequest{Page: p.page, PageSize: p.size}
}

// parsePage reads page and page-size. Values that are not integers within
// the schema (page ≥ 1, page-size ≥ 1) are 400; a page-size above 1000 is
// 422 (pagination standard: "se for requisitado uma quantidade de
// registros maior que o suportado, o retorno será 422"). minSize raises
// smaller page sizes to it (Resources: "treat anything below 25 as 25").
func (rq *request) parsePage(minSize int) (pageReq, bool) {
	q := rq.r.URL.Query()
	p := pageReq{page: 1, size: DefaultPageSize}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			rq.fail(http.StatusBadRequest, CodeBadRequest, "Parâmetro page inválido", "page must be an integer from 1 to 2147483647")
			return p, false
		}
		p.page = n
	}
	if v := q.Get("page-size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			rq.fail(http.StatusBadRequest, CodeBadRequest, "Parâmetro page-size inválido", "page-size must be a positive integer")
			return p, false
		}
		if n > MaxPageSize {
			rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Parâmetro page-size acima do máximo", "page-size may be at most 1000")
			return p, false
		}
		p.size = max(n, minSize)
	}
	if len(q.Get("pagination-key")) > maxKeyLength {
		rq.fail(http.StatusBadRequest, CodeBadRequest, "Parâmetro pagination-key inválido", "pagination-key is longer than 2048 characters")
		return p, false
	}
	return p, true
}

// beyondLast answers 422 when p is past the last page of a list of
// totalPages (page 1 of an empty list exists). Customers 2.2.1 forbids an
// empty identification list, so an empty page past the end cannot be
// answered 200; every API answers it the same way.
func (rq *request) beyondLast(p pageReq, totalPages int) bool {
	if p.page <= max(totalPages, 1) {
		return false
	}
	rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Página inexistente",
		"page "+strconv.Itoa(p.page)+" is past the last page ("+strconv.Itoa(max(totalPages, 1))+")")
	return true
}

// answerList answers page p of a whole list, with meta totals and
// links.last.
func answerList[T any](rq *request, p pageReq, items []T) {
	data, total, pages := slicePage(items, p)
	if rq.beyondLast(p, pages) {
		return
	}
	rq.notePaginationKey()
	rq.ok(pagedBody{Data: data, Links: rq.pageLinks(p, pages, p.page < pages, true, true),
		Meta: pagedMeta{TotalRecords: total, TotalPages: pages, RequestDateTime: rq.requestDateTime()}})
}

// answerPage answers page p the core cut: with meta totals and links.last
// when paged, else (the date-filtered transaction lists) with the request
// time only.
func answerPage[T any](rq *request, p pageReq, pg corebank.Page[T], paged bool) {
	if rq.beyondLast(p, pg.TotalPages) {
		return
	}
	rq.notePaginationKey()
	items := pg.Items
	if items == nil {
		items = []T{}
	}
	l := rq.pageLinks(p, pg.TotalPages, p.page < pg.TotalPages, paged, true)
	if paged {
		rq.ok(pagedBody{Data: items, Links: l,
			Meta: pagedMeta{TotalRecords: pg.TotalRecords, TotalPages: pg.TotalPages, RequestDateTime: rq.requestDateTime()}})
		return
	}
	rq.ok(dateBody{Data: items, Links: l, Meta: dateMeta{RequestDateTime: rq.requestDateTime()}})
}

// answerOne answers the object read for the resource whose id is the path
// value param, once the consent is checked to cover that resource.
func answerOne[T any](rq *request, param, typ, what string, read func(context.Context, corebank.Owner, string) (T, error)) {
	id := rq.r.PathValue(param)
	if !rq.resource(id, typ) {
		return
	}
	v, err := read(rq.ctx(), rq.owner, id)
	if err != nil {
		rq.coreError(what, err)
		return
	}
	rq.one(v)
}

// one answers a single object with links.self and meta totals of one.
func (rq *request) one(data any) {
	rq.ok(pagedBody{Data: data, Links: rq.selfLinks(), Meta: pagedMeta{TotalRecords: 1, TotalPages: 1, RequestDateTime: rq.requestDateTime()}})
}

// slicePage cuts page p out of a whole list: the items, the total and the
// number of pages (0 when there is nothing).
func slicePage[T any](items []T, p pageReq) ([]T, int, int) {
	total := len(items)
	pages := (total + p.size - 1) / p.size
	start := (p.page - 1) * p.size
	if p.page > pages || start >= total {
		return []T{}, total, pages
	}
	end := min(start+p.size, total)
	return items[start:end], total, pages
}

// links is the specs' Links (self required; the others when they apply).
type links struct {
	Self  string `json:"self"`
	First string `json:"first,omitempty"`
	Prev  string `json:"prev,omitempty"`
	Next  string `json:"next,omitempty"`
	Last  string `json:"last,omitempty"`
}

func (rq *request) baseURL() string {
	if u := rq.s.opts.PublicURL; u != "" {
		for len(u) > 0 && u[len(u)-1] == '/' {
			u = u[:len(u)-1]
		}
		return u
	}
	scheme := "https"
	if rq.r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + rq.r.Host
}

// selfLinks is links.self alone: the full URI of this request.
func (rq *request) selfLinks() links {
	return links{Self: rq.baseURL() + rq.r.URL.RequestURI()}
}

// pageLinks builds the paging links of page p: first and prev when p is
// not the first page; next (and last, withLast) when a page follows.
// Every link keeps the request's filters; withKey adds a pagination-key
// bound to this consent, path and filters.
func (rq *request) pageLinks(p pageReq, totalPages int, hasNext, withLast, withKey bool) links {
	l := rq.selfLinks()
	if p.page <= 1 && !hasNext {
		return l
	}
	base := rq.baseURL() + rq.r.URL.EscapedPath()
	q := rq.r.URL.Query()
	q.Del("page")
	q.Del("page-size")
	q.Del("pagination-key")
	if withKey {
		key := rq.s.keys.issue(rq.c.ID, rq.r.URL.Path, q.Encode(), rq.at)
		q.Set("pagination-key", key)
	}
	q.Set("page-size", strconv.Itoa(p.size))
	at := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		return base + "?" + q.Encode()
	}
	if p.page > 1 {
		l.First = at(1)
		l.Prev = at(p.page - 1)
	}
	if hasNext {
		l.Next = at(p.page + 1)
		if withLast && totalPages > p.page {
			l.Last = at(totalPages)
		}
	}
	return l
}

// notePaginationKey records, for the API-call record, that the call came
// with a valid pagination-key: a follow-up page the operational call
// limits do not count. An invalid or expired key is ignored (the call is
// counted like any other), never an error.
func (rq *request) notePaginationKey() {
	q := rq.r.URL.Query()
	key := q.Get("pagination-key")
	if key == "" {
		return
	}
	q.Del("page")
	q.Del("page-size")
	q.Del("pagination-key")
	if rq.s.keys.valid(key, rq.c.ID, rq.r.URL.Path, q.Encode(), rq.at) {
		rq.call.Set("paginationKey", true)
	}
}

// pageKeys issues and checks pagination keys: base64url(expiry ‖
// HMAC-SHA256(secret, consent ‖ path ‖ filters ‖ expiry)[:16]).
type pageKeys struct {
	secret []byte
	ttl    time.Duration
}

func (k pageKeys) mac(consentID, path, filters string, exp int64) []byte {
	m := hmac.New(sha256.New, k.secret)
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(exp))
	for _, s := range []string{consentID, path, filters} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	m.Write(e[:])
	return m.Sum(nil)[:16]
}

func (k pageKeys) issue(consentID, path, filters string, now time.Time) string {
	exp := now.Add(k.ttl).Unix()
	b := make([]byte, 8, 24)
	binary.BigEndian.PutUint64(b, uint64(exp))
	b = append(b, k.mac(consentID, path, filters, exp)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (k pageKeys) valid(key, consentID, path, filters string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(b) != 24 {
		return false
	}
	exp := int64(binary.BigEndian.Uint64(b[:8]))
	if now.Unix() > exp {
		return false
	}
	return hmac.Equal(b[8:], k.mac(consentID, path, filters, exp))
}

// dateRule says how an endpoint reads a pair of date filters.
type dateRule struct {
	from, to string // parameter names
	// pair: one given without the other is 422 (the specs' "[Restrição]
	// Deve obrigatoriamente ser enviado caso o campo ... seja informado").
	pair bool
	// defaultToday: neither given means today ("Caso não seja informado,
	// deve ser assumido o dia atual"); otherwise no bound.
	defaultToday bool
	// pastDays > 0: from may not be before today − pastDays (D-6 → 6).
	pastDays int
	// pastYear: from may not be before today − 12 months; futureYear: to
	// may not be after today + 12 months (accounts /transactions: "12
	// meses no passado mais 12 meses no futuro"; a calendar year).
	pastYear, futureYear bool
}

const dateLayout = "2006-01-02"

// parseDate reads a spec date (YYYY-MM-DD): ok is false for anything else.
func parseDate(s string) (time.Time, bool) {
	if len(s) != len(dateLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(dateLayout, s)
	return t, err == nil
}

// parseDates reads the date filters of rule: 400 for a value that is not
// a date, 422 for dates that break the endpoint's rules (pairs, order,
// windows): the guidance pages keep 422 for "parâmetro semanticamente
// incorreto" on the transaction endpoints.
func (rq *request) parseDates(rule dateRule) (corebank.DateRange, bool) {
	q := rq.r.URL.Query()
	fromS, toS := q.Get(rule.from), q.Get(rule.to)
	var dr corebank.DateRange
	var ok bool
	if fromS != "" {
		if dr.From, ok = parseDate(fromS); !ok {
			rq.fail(http.StatusBadRequest, CodeBadRequest, "Data inválida", rule.from+" must be a date YYYY-MM-DD")
			return dr, false
		}
	}
	if toS != "" {
		if dr.To, ok = parseDate(toS); !ok {
			rq.fail(http.StatusBadRequest, CodeBadRequest, "Data inválida", rule.to+" must be a date YYYY-MM-DD")
			return dr, false
		}
	}
	if rule.pair && (fromS == "") != (toS == "") {
		rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Filtro de datas incompleto", rule.from+" and "+rule.to+" must be sent together")
		return dr, false
	}
	today := time.Date(rq.at.Year(), rq.at.Month(), rq.at.Day(), 0, 0, 0, 0, time.UTC)
	if fromS == "" && toS == "" {
		if rule.defaultToday {
			dr.From, dr.To = today, today
		}
		return dr, true
	}
	if fromS != "" && toS != "" && dr.From.After(dr.To) {
		rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Filtro de datas inválido", rule.from+" is after "+rule.to)
		return dr, false
	}
	if rule.pastDays > 0 && fromS != "" && dr.From.Before(today.AddDate(0, 0, -rule.pastDays)) {
		rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Filtro de datas fora do período",
			rule.from+" may be at most "+strconv.Itoa(rule.pastDays)+" days before today (D-"+strconv.Itoa(rule.pastDays)+")")
		return dr, false
	}
	if rule.pastYear && fromS != "" && dr.From.Before(today.AddDate(-1, 0, 0)) {
		rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Filtro de datas fora do período", rule.from+" may be at most 12 months before today")
		return dr, false
	}
	if rule.futureYear && toS != "" && dr.To.After(today.AddDate(1, 0, 0)) {
		rq.fail(http.StatusUnprocessableEntity, CodeUnprocessable, "Filtro de datas fora do período", rule.to+" may be at most 12 months after today")
		return dr, false
	}
	return dr, true
}

// pagedBody is {data, links, meta} with Meta's totals.
type pagedBody struct {
	Data  any       `json:"data"`
	Links links     `json:"links"`
	Meta  pagedMeta `json:"meta"`
}

// dateBody is {data, links, meta} with meta {requestDateTime}.
type dateBody struct {
	Data  any      `json:"data"`
	Links links    `json:"links"`
	Meta  dateMeta `json:"meta"`
}

// queryValues is a shortcut for the request's query.
func (rq *request) query() url.Values { return rq.r.URL.Query() }
