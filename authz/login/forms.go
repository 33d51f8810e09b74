package login

import (
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/ofp-dev/ofp/authz/idp"
)

// Form field names shared by the templates and the parsers.
const (
	FieldStep     = "step"
	FieldCSRF     = "csrf_token"
	FieldCPF      = "cpf"
	FieldCNPJ     = "cnpj"
	FieldPassword = "password"
	FieldOTP      = "otp"
	FieldDecision = "decision"
	FieldResource = "resource"

	StepLogin   = "login"
	StepConsent = "consent"

	DecisionApprove = "approve"
	DecisionDeny    = "deny"
)

// Limits of form values.
const (
	maxPassword  = 128
	maxCSRF      = 128
	maxResources = 200
	maxResource  = 100
)

// FormError is a form value the customer must correct; Message is shown on
// the page (Portuguese, then English).
type FormError struct {
	Field   string
	Message string
}

func (e *FormError) Error() string { return fmt.Sprintf("login: field %s: %s", e.Field, e.Message) }

func formError(field, msg string) error { return &FormError{Field: field, Message: msg} }

// LoginForm is a parsed login form.
type LoginForm struct {
	CSRF string
	// CPF and CNPJ are digits only; CNPJ is empty for a personal login.
	CPF, CNPJ string
	Password  string
	OTP       string
}

// Credentials turns the form into what the identity provider checks.
func (f LoginForm) Credentials() idp.Credentials {
	return idp.Credentials{CPF: f.CPF, CNPJ: f.CNPJ, Password: f.Password, OTP: f.OTP}
}

// one returns the single value of a field; a repeated field is an error
// (an attacker-controlled duplicate must not pick which one counts).
func one(v url.Values, field string) (string, error) {
	vals := v[field]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", formError(field, "campo repetido / repeated field")
}

// CSRFToken reads the form's anti-forgery token (empty when missing or repeated).
func CSRFToken(v url.Values) string {
	s, err := one(v, FieldCSRF)
	if err != nil || len(s) > maxCSRF {
		return ""
	}
	return s
}

// Step reads which form was posted: StepLogin, StepConsent or "" (not one
// of ours, e.g. the first hit of the authorization endpoint).
func Step(v url.Values) string {
	s, err := one(v, FieldStep)
	if err != nil {
		return ""
	}
	switch s {
	case StepLogin, StepConsent:
		return s
	}
	return ""
}

// ParseLogin validates a posted login form.
func ParseLogin(v url.Values) (LoginForm, error) {
	var f LoginForm
	var err error
	if f.CSRF, err = one(v, FieldCSRF); err != nil {
		return LoginForm{}, err
	}
	raw, err := one(v, FieldCPF)
	if err != nil {
		return LoginForm{}, err
	}
	f.CPF = idp.NormaliseDocument(raw)
	if !idp.ValidCPF(f.CPF) {
		return LoginForm{}, formError(FieldCPF, "CPF inválido / invalid CPF")
	}
	raw, err = one(v, FieldCNPJ)
	if err != nil {
		return LoginForm{}, err
	}
	if raw != "" {
		f.CNPJ = idp.NormaliseDocument(raw)
		if !idp.ValidCNPJ(f.CNPJ) {
			return LoginForm{}, formError(FieldCNPJ, "CNPJ inválido / invalid CNPJ")
		}
	}
	if f.Password, err = one(v, FieldPassword); err != nil {
		return LoginForm{}, err
	}
	if f.Password == "" || len(f.Password) > maxPassword || !utf8.ValidString(f.Password) {
		return LoginForm{}, formError(FieldPassword, "informe a senha / enter the password")
	}
	if f.OTP, err = one(v, FieldOTP); err != nil {
		return LoginForm{}, err
	}
	if f.OTP != "" && !digits(f.OTP, 6) {
		return LoginForm{}, formError(FieldOTP, "o código tem 6 dígitos / the code has 6 digits")
	}
	return f, nil
}

// ConsentForm is a parsed consent form.
type ConsentForm struct {
	CSRF    string
	Approve bool
	// Resources are the chosen resource ids, without duplicates, in form order.
	Resources []string
}

// ParseConsent validates a posted consent form.
func ParseConsent(v url.Values) (ConsentForm, error) {
	var f ConsentForm
	var err error
	if f.CSRF, err = one(v, FieldCSRF); err != nil {
		return ConsentForm{}, err
	}
	d, err := one(v, FieldDecision)
	if err != nil {
		return ConsentForm{}, err
	}
	switch d {
	case DecisionApprove:
		f.Approve = true
	case DecisionDeny:
	default:
		return ConsentForm{}, formError(FieldDecision, "escolha autorizar ou recusar / choose authorise or refuse")
	}
	res := v[FieldResource]
	if len(res) > maxResources {
		return ConsentForm{}, formError(FieldResource, "produtos demais / too many products")
	}
	seen := map[string]bool{}
	for _, r := range res {
		if r == "" || len(r) > maxResource || !idChars(r) {
			return ConsentForm{}, formError(FieldResource, "produto desconhecido / unknown product")
		}
		if !seen[r] {
			seen[r] = true
			f.Resources = append(f.Resources, r)
		}
	}
	return f, nil
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// idChars accepts the characters of resource ids (UUIDs and similar).
func idChars(s string) bool {
	for i := range len(s) {
		c := s[i]
		ok := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}
