package login

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/ofp-dev/ofp/internal/brtext"
)

//go:embed templates/*.html
var templateFS embed.FS

// Brand is how a brand's pages look.
type Brand struct {
	// Name is shown in the header and title.
	Name string
	// Colour is the header and primary button colour, "#rrggbb".
	Colour string
}

// DefaultColour is used when a brand has none.
const DefaultColour = "#0b4f8a"

var colourPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Validate checks the brand can be rendered.
func (b Brand) Validate() error {
	if b.Name == "" {
		return fmt.Errorf("login: brand name is required")
	}
	if !colourPattern.MatchString(b.Colour) {
		return fmt.Errorf("login: brand %s colour %q must look like #0b4f8a", b.Name, b.Colour)
	}
	return nil
}

// LoginPage is the data of the login form.
type LoginPage struct {
	Brand      Brand
	Action     string
	CSRF       string
	ClientName string
	// CPF and CNPJ refill the form after an error (never the password).
	CPF, CNPJ string
	NeedOTP   bool
	Error     string
}

// AccountChoice is one resource the customer may tick.
type AccountChoice struct {
	ID, Label string
	Checked   bool
}

// ConsentPage is the data of the consent form.
type ConsentPage struct {
	Brand        Brand
	Action       string
	CSRF         string
	ClientName   string
	CustomerName string
	CNPJ         string
	Groups       []PermissionGroup
	Accounts     []AccountChoice
	NeedAccounts bool
	// SingleAccount: exactly one of Accounts is chosen (radio buttons: the
	// account a payment is debited from).
	SingleAccount bool
	// Payment is set for a payment consent: what the customer is asked to
	// pay (the page then reviews a payment instead of shared data).
	Payment *Payment
	// Expires is the consent's expirationDateTime; zero = open-ended. For a
	// payment consent it is the deadline to authorise.
	Expires time.Time
	Error   string
}

// ErrorPage is an error shown to the customer, with the OAuth error code in
// data-error for scripts and tests.
type ErrorPage struct {
	Brand   Brand
	Heading string
	Code    string
	Message string
	// RetryAfter, when > 0, is sent as the Retry-After header.
	RetryAfter time.Duration
}

// Pages renders the branded, JavaScript-free login, consent and error pages.
type Pages struct{ tmpl *template.Template }

// NewPages parses the embedded templates.
func NewPages() (*Pages, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("login: parse templates: %w", err)
	}
	return &Pages{tmpl: t}, nil
}

// Login writes the login page with status.
func (p *Pages) Login(w http.ResponseWriter, status int, d LoginPage) error {
	return p.render(w, status, "login.html", struct {
		LoginPage
		Title string
	}{d, "Entrar / Sign in"})
}

// Consent writes the consent page with status.
func (p *Pages) Consent(w http.ResponseWriter, status int, d ConsentPage) error {
	expires, expiresEN := "", ""
	if !d.Expires.IsZero() {
		expires, expiresEN = brtext.DateTime(d.Expires), brtext.DateTimeEN(d.Expires)
	}
	return p.render(w, status, "consent.html", struct {
		ConsentPage
		Title     string
		Expires   string
		ExpiresEN string
		Pay       *paymentView
	}{d, "Autorizar / Authorise", expires, expiresEN, d.Payment.view()})
}

// Error writes the error page with status.
func (p *Pages) Error(w http.ResponseWriter, status int, d ErrorPage) error {
	if d.Heading == "" {
		d.Heading = "Não foi possível continuar / We could not continue"
	}
	if d.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d.RetryAfter+time.Second-1)/time.Second)))
	}
	return p.render(w, status, "error.html", struct {
		ErrorPage
		Title string
	}{d, "Erro / Error"})
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "page unavailable", http.StatusInternalServerError)
		return fmt.Errorf("login: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// No script may run: the pages have none. form-action is not restricted
	// because the final answer redirects to the client's redirect_uri.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}
