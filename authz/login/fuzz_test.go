package login

import (
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/ofp-dev/ofp/authz/idp"
)

// FuzzParseLogin: any posted body parses to a valid form or a FormError,
// never a panic, and accepted values respect the documented shapes.
func FuzzParseLogin(f *testing.F) {
	f.Add("csrf_token=c&cpf=529.982.247-25&password=pw")
	f.Add("cpf=52998224725&cnpj=11.222.333%2F0001-81&password=x&otp=123456")
	f.Add("cpf=52998224725&cpf=1&password=%00%ff")
	f.Add("step=login&cpf=&password=")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		form, err := ParseLogin(v)
		if err != nil {
			if _, ok := err.(*FormError); !ok {
				t.Fatalf("error %T is not a FormError", err)
			}
			return
		}
		if !idp.ValidCPF(form.CPF) || (form.CNPJ != "" && !idp.ValidCNPJ(form.CNPJ)) {
			t.Fatalf("accepted invalid documents %q %q", form.CPF, form.CNPJ)
		}
		if form.Password == "" || len(form.Password) > maxPassword || !utf8.ValidString(form.Password) {
			t.Fatalf("accepted bad password of %d bytes", len(form.Password))
		}
		if form.OTP != "" && !digits(form.OTP, 6) {
			t.Fatalf("accepted otp %q", form.OTP)
		}
	})
}

// FuzzParseConsent: decisions are exactly approve/deny and every accepted
// resource id is short, unique and made of id characters.
func FuzzParseConsent(f *testing.F) {
	f.Add("decision=approve&resource=a&resource=b")
	f.Add("decision=deny")
	f.Add("decision=approve&decision=deny&resource=%3Cscript%3E")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		form, err := ParseConsent(v)
		if err != nil {
			return
		}
		if d := v.Get(FieldDecision); (d == DecisionApprove) != form.Approve || len(v[FieldDecision]) != 1 {
			t.Fatalf("decision %q parsed as approve=%v", d, form.Approve)
		}
		seen := map[string]bool{}
		for _, r := range form.Resources {
			if r == "" || len(r) > maxResource || !idChars(r) || seen[r] {
				t.Fatalf("accepted resource %q", r)
			}
			seen[r] = true
		}
	})
}
