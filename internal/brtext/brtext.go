// Package brtext writes money, documents and times the way Brazilian
// customers read them on the pages ofp serves: "R$ 1.234,56" from a decimal
// string (never through a float: the page shows what the consent says), a
// CPF masked as Pix apps show a payee's, a CNPJ in full, a time in
// Brasília's (the data stays UTC; only the words change).
//
// It never parses user input and never rounds.
package brtext

import (
	"regexp"
	"strings"
	"time"
)

// Brasilia is Brasília's time (UTC−3; Brazil has kept no daylight saving
// time since 2019): the days of Pix payments, the times customers read.
var Brasilia = time.FixedZone("BRT", -3*60*60)

// DateTime writes t as a customer in Brazil reads it:
// "10/03/2026 09:00 (horário de Brasília)" for 12:00 UTC.
func DateTime(t time.Time) string {
	return t.In(Brasilia).Format("02/01/2006 15:04") + " (horário de Brasília)"
}

// DateTimeEN is DateTime for the English half of a bilingual page:
// "10/03/2026 09:00 (Brasília time)".
func DateTimeEN(t time.Time) string {
	return t.In(Brasilia).Format("02/01/2006 15:04") + " (Brasília time)"
}

var moneyPattern = regexp.MustCompile(`^(\d{1,16})\.(\d{2})$`)

// Money writes a decimal amount with two places the Brazilian way:
// "1234.56", "BRL" -> "R$ 1.234,56". Another currency is written before the
// amount by its code. An amount not in that shape is returned as given
// (after the currency), never rounded: what the customer reads is what
// the consent says.
func Money(amount, currency string) string {
	symbol := currency + " "
	if currency == "BRL" || currency == "" {
		symbol = "R$ "
	}
	m := moneyPattern.FindStringSubmatch(amount)
	if m == nil {
		return symbol + amount
	}
	whole := strings.TrimLeft(m[1], "0")
	if whole == "" {
		whole = "0"
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return symbol + b.String() + "," + m[2]
}

// Document writes a CPF masked as Pix apps show a payee's
// ("***.982.247-**": the customer can check it without the page disclosing
// it whole) and a CNPJ in full ("12.345.678/0001-90"). Anything else is
// returned as given.
func Document(doc string) string {
	if !allDigits(doc) {
		return doc
	}
	switch len(doc) {
	case 11:
		return "CPF ***." + doc[3:6] + "." + doc[6:9] + "-**"
	case 14:
		return "CNPJ " + doc[0:2] + "." + doc[2:5] + "." + doc[5:8] + "/" + doc[8:12] + "-" + doc[12:14]
	}
	return doc
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
