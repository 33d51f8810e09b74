package sim

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// Transport faults, as FaultFor reports them and FaultHeader names them.
const (
	FaultNone      = ""
	Fault5xx       = "5xx"
	Fault429       = "429"
	FaultMalformed = "malformed"
	FaultTruncated = "truncated"
)

var interactionIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9\-]{0,99}$`)

func setInteractionID(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("x-fapi-interaction-id")
	if !interactionIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	w.Header().Set("x-fapi-interaction-id", id)
}

// writeError answers with the standard ResponseError shape.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, title, detail string) {
	w.Header().Set(SimulatedHeader, "true")
	setInteractionID(w, r)
	httpx.WriteError(w, status, httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
}

// FaultFor is the transport fault the simulator injects for the given
// request: orgID, the URL path, page and page-size as served (after
// defaults), and attempt = how many earlier requests for the same path,
// page and page-size the ecosystem has seen (0 for the first). Tests use
// it to predict what a client meets.
func (e *Ecosystem) FaultFor(orgID, path string, page, pageSize, attempt int) string {
	f, ok := e.cfg.Faults[orgID]
	if !ok {
		return FaultNone
	}
	if f.MaxConsecutive > 0 && attempt >= f.MaxConsecutive {
		return FaultNone
	}
	u := unit(hashOf(e.cfg.Seed, "transport", orgID, path, page, pageSize, attempt))
	switch {
	case u < f.P5xx:
		return Fault5xx
	case u < f.P5xx+f.P429:
		return Fault429
	case u < f.P5xx+f.P429+f.PMalformed:
		return FaultMalformed
	case u < f.P5xx+f.P429+f.PMalformed+f.PTruncated:
		return FaultTruncated
	}
	return FaultNone
}

// ResetAttempts forgets the per-page attempt counters that FaultFor's
// attempt argument refers to.
func (e *Ecosystem) ResetAttempts() {
	e.attemptsMu.Lock()
	clear(e.attempts)
	e.attemptsMu.Unlock()
}

func (e *Ecosystem) nextAttempt(key string) int {
	e.attemptsMu.Lock()
	defer e.attemptsMu.Unlock()
	n := e.attempts[key]
	e.attempts[key] = n + 1
	return n
}

func (e *Ecosystem) serveOpenData(w http.ResponseWriter, r *http.Request) {
	inst, ok := e.instByAS[r.PathValue("as")]
	if !ok || inst.OrganisationID != r.PathValue("org") {
		writeError(w, r, http.StatusNotFound, "NAO_ENCONTRADO", "Instituição não encontrada", "no simulated institution at this path")
		return
	}
	product, family := r.PathValue("product"), r.PathValue("family")
	if r.PathValue("version") != "v1" || !inst.Serves(product) || inst.Family(product) != family {
		writeError(w, r, http.StatusNotFound, "NAO_ENCONTRADO", "Recurso não encontrado", "this institution does not serve "+family+"/"+r.PathValue("version")+"/"+product)
		return
	}
	page, pageSize, err := pageParams(r, e.cfg.PageSizeDefault)
	if err != nil {
		status := http.StatusBadRequest
		if err == errPageSizeTooLarge {
			status = http.StatusUnprocessableEntity
		}
		writeError(w, r, status, "PARAMETRO_INVALIDO", "Parâmetro inválido", err.Error())
		return
	}
	total := e.recordCount(inst, product)
	totalPages := (total + pageSize - 1) / pageSize
	if page > totalPages {
		writeError(w, r, http.StatusNotFound, "PAGINA_INEXISTENTE", "Página inexistente",
			fmt.Sprintf("page %d is beyond the last page %d", page, totalPages))
		return
	}
	faults := e.cfg.Faults[inst.OrganisationID]
	if faults.Latency > 0 {
		t := time.NewTimer(faults.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	attempt := e.nextAttempt(fmt.Sprintf("%s|%d|%d", r.URL.Path, page, pageSize))
	fault := e.FaultFor(inst.OrganisationID, r.URL.Path, page, pageSize, attempt)
	switch fault {
	case Fault5xx:
		statuses := []int{500, 502, 503, 504}
		st := statuses[hashOf(e.cfg.Seed, "5xx", r.URL.Path, page, attempt)%4]
		w.Header().Set(FaultHeader, fault)
		writeError(w, r, st, "ERRO_INTERNO", "Erro interno", "simulated server error")
		return
	case Fault429:
		secs := int((faults.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		w.Header().Set(FaultHeader, fault)
		writeError(w, r, http.StatusTooManyRequests, "LIMITE_EXCEDIDO", "Muitas requisições", "simulated rate limit")
		return
	}
	body := e.renderPage(inst, product, page, pageSize, total)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set(SimulatedHeader, "true")
	setInteractionID(w, r)
	switch fault {
	case FaultMalformed:
		// Drop the colon after "links": the body is complete but not JSON.
		body = bytes.Replace(body, []byte(`"links":`), []byte(`"links" `), 1)
		h.Set(FaultHeader, fault)
	case FaultTruncated:
		// Promise the whole body, send two thirds, then end the handler:
		// the server closes the connection and the client sees an
		// unexpected EOF after a partial body.
		h.Set(FaultHeader, fault)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body[:len(body)*2/3])
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

var errPageSizeTooLarge = fmt.Errorf("page-size above the maximum of 1000")

func pageParams(r *http.Request, def int) (page, size int, err error) {
	q := r.URL.Query()
	page, size = 1, def
	if s := q.Get("page"); s != "" {
		page, err = strconv.Atoi(s)
		if err != nil || page < 1 {
			return 0, 0, fmt.Errorf("page must be a positive integer, got %q", s)
		}
	}
	if s := q.Get("page-size"); s != "" {
		size, err = strconv.Atoi(s)
		if err != nil || size < 1 {
			return 0, 0, fmt.Errorf("page-size must be a positive integer, got %q", s)
		}
		if size > 1000 {
			return 0, 0, errPageSizeTooLarge
		}
	}
	return page, size, nil
}

// renderPage encodes one page of an endpoint with links and meta.
func (e *Ecosystem) renderPage(inst *Institution, product string, page, size, total int) []byte {
	ep := e.specs.endpoints[inst.Family(product)+"/"+product]
	from := (page - 1) * size
	to := min(from+size, total)
	recs := &val{kind: 'a'}
	for i := from; i < to; i++ {
		rec, _, _ := e.genRecord(inst, ep, i)
		recs.vals = append(recs.vals, rec)
	}
	var data *val
	if ep.family == FamilyProductsServices {
		data = &val{kind: 'o', keys: []string{"brand"}, vals: []*val{{kind: 'o',
			keys: []string{"name", "companies"}, vals: []*val{str(ep.brand(inst)), recs}}}}
	} else {
		data = recs
	}
	totalPages := (total + size - 1) / size
	self := inst.EndpointURL(e.cfg.BaseURL, product)
	link := func(p int) *val { return str(fmt.Sprintf("%s?page=%d&page-size=%d", self, p, size)) }
	links := &val{kind: 'o'}
	links.set("self", link(page))
	links.set("first", link(1))
	if page > 1 {
		links.set("prev", link(page-1))
	}
	if page < totalPages {
		links.set("next", link(page+1))
	}
	links.set("last", link(totalPages))
	meta := &val{kind: 'o', keys: []string{"totalRecords", "totalPages"},
		vals: []*val{{kind: 'i', i: int64(total)}, {kind: 'i', i: int64(totalPages)}}}
	resp := &val{kind: 'o', keys: []string{"data", "links", "meta"}, vals: []*val{data, links, meta}}
	return resp.appendJSON(make([]byte, 0, 4096*(to-from+1)))
}
