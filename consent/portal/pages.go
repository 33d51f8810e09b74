package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

func parsePages() (*template.Template, error) {
	t, err := template.New("pages").ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("portal: parse templates: %w", err)
	}
	return t, nil
}

// page is what every template gets.
type page struct {
	Title, Heading, Who, LogoutCSRF, Flash, Error string
	Data                                          any
}

// render writes a page with status; a template failure is a 500 with a
// plain message (nothing half-written: the page is rendered to a buffer).
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) {
	var b bytes.Buffer
	if err := p.pages.ExecuteTemplate(&b, name, pg); err != nil {
		p.o.Logger.Error("portal: render page", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

type message struct{ Title, Text, Back string }

func (p *Portal) message(w http.ResponseWriter, r *http.Request, status int, base page, title, text, back string) {
	base.Data = message{Title: title, Text: text, Back: back}
	if base.Title == "" {
		base.Title = title
	}
	p.render(w, r, status, "message", base)
}

// forbiddenPage answers the Guard's 403 for browser pages.
func (p *Portal) forbiddenPage(w http.ResponseWriter, r *http.Request) {
	back := "/"
	if strings.HasPrefix(r.URL.Path, PortalPrefix) {
		back = PortalPrefix
	}
	p.message(w, r, http.StatusForbidden, page{Heading: "Acesso negado"}, "Acesso negado",
		"Você não tem permissão para esta página.", back)
}

// flashes are the only texts a ?msg= can show (nothing is reflected).
var flashes = map[string]string{
	"revoked":           "Pronto: a autorização foi revogada.",
	"renewed":           "Pronto: a autorização foi renovada.",
	"already":           "Essa autorização já estava encerrada; nada mudou.",
	"purpose-revoked":   "Pronto: o uso dos seus dados foi revogado.",
	"payment-cancelled": "Pronto: o pagamento foi cancelado e não será feito.",
}

type choice struct{ Name, Value, Label string }

type option struct{ Value, Label string }

type confirmation struct {
	Question, Subject, Action, CSRF, Button, ButtonClass, Back string
	Notes                                                      []string
	Choices                                                    []choice
	Durations                                                  []option
	AskReason                                                  bool
}
