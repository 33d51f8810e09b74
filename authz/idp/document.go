package idp

import "strings"

// NormaliseDocument drops the punctuation people type in CPF and CNPJ
// numbers ("123.456.789-09", "12.345.678/0001-95") and surrounding spaces.
// It keeps any other character, so validation still fails on letters.
func NormaliseDocument(s string) string {
	s = strings.TrimSpace(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '-', '/', ' ':
			return -1
		}
		return r
	}, s)
}

// ValidCPF reports whether s is 11 digits with correct check digits and not
// one repeated digit.
func ValidCPF(s string) bool {
	if !allDigits(s, 11) || repeated(s) {
		return false
	}
	return checkDigit(s[:9], cpfWeights(10)) == s[9] && checkDigit(s[:10], cpfWeights(11)) == s[10]
}

// ValidCNPJ reports whether s is 14 digits with correct check digits and not
// one repeated digit.
func ValidCNPJ(s string) bool {
	if !allDigits(s, 14) || repeated(s) {
		return false
	}
	w1 := []int{5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}
	w2 := []int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}
	return checkDigit(s[:12], w1) == s[12] && checkDigit(s[:13], w2) == s[13]
}

func cpfWeights(first int) []int {
	w := make([]int, first-1)
	for i := range w {
		w[i] = first - i
	}
	return w
}

// checkDigit is the mod-11 check digit of digits with weights.
func checkDigit(digits string, weights []int) byte {
	sum := 0
	for i := range len(digits) {
		sum += int(digits[i]-'0') * weights[i]
	}
	r := sum % 11
	if r < 2 {
		return '0'
	}
	return byte('0' + 11 - r)
}

func allDigits(s string, n int) bool {
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

func repeated(s string) bool { return strings.Count(s, s[:1]) == len(s) }

// completeCPF appends the two check digits to a 9-digit base.
func completeCPF(base string) string {
	s := base + string(checkDigit(base, cpfWeights(10)))
	return s + string(checkDigit(s, cpfWeights(11)))
}

// completeCNPJ appends the two check digits to a 12-digit base.
func completeCNPJ(base string) string {
	s := base + string(checkDigit(base, []int{5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}))
	return s + string(checkDigit(s, []int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}))
}
