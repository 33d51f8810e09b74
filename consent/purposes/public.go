package purposes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PublicPrefix is the path under which PublicHandler answers.
const PublicPrefix = "/consent-journey/v1/purposes"

// Languages the consent journey speaks.
const (
	LangPtBR = "pt-BR"
	LangEn   = "en"
)

// PurposeReader is what PublicHandler needs from a registry (*Store has it).
type PurposeReader interface {
	List(ctx context.Context) ([]Purpose, error)
	Get(ctx context.Context, id string) (Purpose, error)
}

var _ PurposeReader = (*Store)(nil)

// PublicOptions configures a PublicHandler. The zero value is usable.
type PublicOptions struct {
	// Now is the clock for meta.requestDateTime; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxAge is the Cache-Control max-age of a response; default 5 minutes.
	MaxAge time.Duration
}

// PublicHandler is the read-only API that web and mobile apps use to build
// the consent journey:
//
//	GET /consent-journey/v1/purposes        200 | 304
//	GET /consent-journey/v1/purposes/{id}   200 | 304 | 404
//
// Each purpose comes with its permission groups and every permission it
// needs, each with a plain-language explanation. Accept-Language chooses
// pt-BR (the default) or en; the response says which in Content-Language.
// Responses carry an ETag computed over the data and the language, honour
// If-None-Match, and are cacheable (Cache-Control public, Vary
// Accept-Language).
type PublicHandler struct {
	store  PurposeReader
	now    func() time.Time
	log    *slog.Logger
	maxAge time.Duration
}

// NewPublicHandler returns the public API over store.
func NewPublicHandler(store PurposeReader, opts PublicOptions) *PublicHandler {
	h := &PublicHandler{store: store, now: opts.Now, log: opts.Logger, maxAge: opts.MaxAge}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxAge <= 0 {
		h.maxAge = 5 * time.Minute
	}
	return h
}

var _ http.Handler = (*PublicHandler)(nil)

type publicPermission struct {
	Permission  string `json:"permission"`
	Explanation string `json:"explanation"`
}

type publicGroup struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

type publicPurpose struct {
	ID                  string             `json:"id"`
	Name                string             `json:"name"`
	Description         string             `json:"description"`
	LegalBasis          string             `json:"legalBasis"`
	LegalBasisName      string             `json:"legalBasisName"`
	RevocationRule      string             `json:"revocationRule"`
	DefaultDurationDays *int               `json:"defaultDurationDays"`
	MaxDurationDays     *int               `json:"maxDurationDays"`
	PermissionGroups    []publicGroup      `json:"permissionGroups"`
	Permissions         []publicPermission `json:"permissions"`
}

func (h *PublicHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, PublicPrefix)
	if !ok || (rest != "" && rest != "/" && (!strings.HasPrefix(rest, "/") || strings.Contains(rest[1:], "/"))) {
		writeError(w, http.StatusNotFound, h.now(), CodeNotFound, "Not found", "no such path")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, h.now(), CodeMethodNotAllowed, "Method not allowed", "allowed: GET, HEAD")
		return
	}
	lang := PickLanguage(r.Header.Get("Accept-Language"))
	var data any
	if rest == "" || rest == "/" {
		ps, err := h.store.List(r.Context())
		if err != nil {
			h.internal(w, r, err)
			return
		}
		list := make([]publicPurpose, len(ps))
		for i, p := range ps {
			list[i] = localize(p, lang)
		}
		data = list
	} else {
		id := rest[1:]
		p, err := h.store.Get(r.Context(), id)
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, h.now(), CodeNotFound, "Purpose not found", fmt.Sprintf("no purpose has id %q", id))
			return
		}
		if err != nil {
			h.internal(w, r, err)
			return
		}
		data = localize(p, lang)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	sum := sha256.Sum256(append([]byte(lang+"\n"), raw...))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.maxAge/time.Second)))
	hd.Set("Vary", "Accept-Language")
	hd.Set("Content-Language", lang)
	if noneMatch(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Data json.RawMessage `json:"data"`
		Meta meta            `json:"meta"`
	}{Data: raw, Meta: meta{RequestDateTime: h.now().UTC().Format(timeLayout)}})
}

func (h *PublicHandler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("purposes: public request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, h.now(), CodeInternal, "Internal error", "the request could not be completed; try again later")
}

func localize(p Purpose, lang string) publicPurpose {
	pick := func(t Text) string {
		if lang == LangEn {
			return t.En
		}
		return t.PtBR
	}
	out := publicPurpose{
		ID: p.ID, Name: pick(p.Name), Description: pick(p.Description),
		LegalBasis: string(p.LegalBasis), LegalBasisName: pick(legalBasisNames[p.LegalBasis]),
		RevocationRule:      string(p.RevocationRule),
		DefaultDurationDays: p.DefaultDurationDays, MaxDurationDays: p.MaxDurationDays,
		PermissionGroups: []publicGroup{}, Permissions: []publicPermission{},
	}
	for _, name := range p.PermissionGroups {
		g, ok := GroupByName(name)
		if !ok {
			continue
		}
		gn, _ := GroupName(name)
		out.PermissionGroups = append(out.PermissionGroups, publicGroup{Name: pick(gn), Permissions: append([]string(nil), g.Permissions...)})
	}
	for _, perm := range p.Permissions() {
		e, _ := Explanation(perm)
		out.Permissions = append(out.Permissions, publicPermission{Permission: perm, Explanation: pick(e)})
	}
	return out
}

// legalBasisNames are the LGPD art. 7 hypotheses in plain language.
var legalBasisNames = map[LegalBasis]Text{
	LegalBasisConsentimento:             {PtBR: "Consentimento do titular", En: "Your consent"},
	LegalBasisObrigacaoLegal:            {PtBR: "Cumprimento de obrigação legal ou regulatória", En: "Compliance with a legal or regulatory obligation"},
	LegalBasisExecucaoPoliticasPublicas: {PtBR: "Execução de políticas públicas", En: "Carrying out public policies"},
	LegalBasisEstudosPesquisa:           {PtBR: "Estudos por órgão de pesquisa", En: "Studies by a research body"},
	LegalBasisExecucaoContrato:          {PtBR: "Execução de contrato com você", En: "Performance of a contract with you"},
	LegalBasisExercicioRegularDireitos:  {PtBR: "Exercício regular de direitos em processo", En: "Exercise of rights in legal proceedings"},
	LegalBasisProtecaoVida:              {PtBR: "Proteção da vida ou da incolumidade física", En: "Protection of life or physical safety"},
	LegalBasisTutelaSaude:               {PtBR: "Tutela da saúde", En: "Protection of health"},
	LegalBasisLegitimoInteresse:         {PtBR: "Legítimo interesse", En: "Legitimate interest"},
	LegalBasisProtecaoCredito:           {PtBR: "Proteção do crédito", En: "Credit protection"},
}

// PickLanguage chooses pt-BR or en from an Accept-Language header: the
// supported language with the highest q-value wins (ties go to the one
// listed first); any "pt" tag means pt-BR, any "en" tag means en; when
// nothing matches, pt-BR.
func PickLanguage(header string) string {
	type cand struct {
		lang string
		q    float64
		pos  int
	}
	var cs []cand
	for i, part := range strings.Split(header, ",") {
		if i >= 32 { // a client does not need more; bounds the work
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q == 0 {
			continue
		}
		switch {
		case tag == "pt" || strings.HasPrefix(tag, "pt-"):
			cs = append(cs, cand{LangPtBR, q, i})
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			cs = append(cs, cand{LangEn, q, i})
		}
	}
	if len(cs) == 0 {
		return LangPtBR
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].q > cs[b].q })
	return cs[0].lang
}

// noneMatch reports whether If-None-Match matches etag (weak comparison).
func noneMatch(values []string, etag string) bool {
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == etag {
				return true
			}
		}
	}
	return false
}
