package corebank

import (
	"strconv"
	"time"
)

// Everything synthetic derives from 64-bit keys: key(child) = mix(key(parent),
// tag). mix is the splitmix64 finaliser over a combination of its inputs, so
// one derivation costs a few nanoseconds and needs no state.

func mix(a, b uint64) uint64 {
	x := a ^ (b*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019 + (a << 6) + (a >> 2))
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rng is a splitmix64 stream for drawing several values from one key.
type rng struct{ s uint64 }

func newRNG(key uint64) rng { return rng{s: key} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int64) int64 { return lo + int64(r.next()%uint64(hi-lo+1)) }

// chance is true with probability pct/100.
func (r *rng) chance(pct int) bool { return r.intn(100) < pct }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// digits returns n decimal digits.
func (r *rng) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.intn(10))
	}
	return string(b)
}

// Days are counted from the Unix epoch in UTC ("day numbers").

const secondsPerDay = 86400

func dayOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - secondsPerDay + 1) / secondsPerDay
	}
	return s / secondsPerDay
}

// civil converts a day number to a calendar date (Howard Hinnant's
// days-to-civil; no allocation, no time package).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z
	if z < 0 {
		era = z - 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

// daysFromCivil is the inverse of civil. Days past the end of the month
// roll over (like time.Date).
func daysFromCivil(y, m, d int) int64 {
	return dayOf(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC))
}

func appendPad(b []byte, v, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// formatDate renders a day number as "2006-01-02".
func formatDate(day int64) string {
	y, m, d := civil(day)
	b := make([]byte, 0, 10)
	b = appendPad(b, y, 4)
	b = append(b, '-')
	b = appendPad(b, m, 2)
	b = append(b, '-')
	b = appendPad(b, d, 2)
	return string(b)
}

// formatDateTimeMs renders day + ms-of-day as "2006-01-02T15:04:05.000Z".
func formatDateTimeMs(day int64, ms int64) string {
	y, m, d := civil(day)
	b := make([]byte, 0, 24)
	b = appendPad(b, y, 4)
	b = append(b, '-')
	b = appendPad(b, m, 2)
	b = append(b, '-')
	b = appendPad(b, d, 2)
	b = append(b, 'T')
	b = appendPad(b, int(ms/3600000), 2)
	b = append(b, ':')
	b = appendPad(b, int(ms/60000%60), 2)
	b = append(b, ':')
	b = appendPad(b, int(ms/1000%60), 2)
	b = append(b, '.')
	b = appendPad(b, int(ms%1000), 3)
	b = append(b, 'Z')
	return string(b)
}

// formatDateTime renders day + seconds-of-day as "2006-01-02T15:04:05Z".
func formatDateTime(day int64, sec int64) string {
	s := formatDateTimeMs(day, sec*1000)
	return s[:19] + "Z"
}

// money renders cents as a decimal string with two decimals.
func money(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	b := make([]byte, 0, 20)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.')
	b = appendPad(b, int(cents%100), 2)
	return string(b)
}

func brl(cents int64) Amount { return Amount{Amount: money(cents), Currency: "BRL"} }

func brlp(cents int64) *Amount { a := brl(cents); return &a }

const hexDigits = "0123456789abcdef"

// uuidLike renders two 64-bit values as a lowercase UUID-shaped id
// (8-4-4-4-12), which fits the specs' id pattern ^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$.
func uuidLike(a, b uint64) string {
	var buf [36]byte
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			buf[j] = '-'
			j++
		}
		var v uint64
		if i < 16 {
			v = a >> (60 - 4*i)
		} else {
			v = b >> (60 - 4*(i-16))
		}
		buf[j] = hexDigits[v&0xf]
		j++
	}
	return string(buf[:])
}

// Brazilian tax ids.

// cpfFromBase returns the 11-digit CPF whose first nine digits are base.
func cpfFromBase(base uint64) string {
	var d [11]int
	for i := 8; i >= 0; i-- {
		d[i] = int(base % 10)
		base /= 10
	}
	d[9] = checkDigit(d[:9], 10)
	d[10] = checkDigit(d[:10], 11)
	b := make([]byte, 11)
	for i, v := range d {
		b[i] = byte('0' + v)
	}
	return string(b)
}

// checkDigit is the CPF mod-11 digit over ds with weights w, w-1, ....
func checkDigit(ds []int, w int) int {
	sum := 0
	for i, v := range ds {
		sum += v * (w - i)
	}
	r := sum % 11
	if r < 2 {
		return 0
	}
	return 11 - r
}

var (
	cnpjW1 = [12]int{5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}
	cnpjW2 = [13]int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}
)

// cnpjFromRoot returns the 14-digit CNPJ of root (8 digits) and branch
// (4 digits, 1 = head office "0001").
func cnpjFromRoot(root uint64, branch int) string {
	var d [14]int
	for i := 7; i >= 0; i-- {
		d[i] = int(root % 10)
		root /= 10
	}
	br := branch
	for i := 11; i >= 8; i-- {
		d[i] = br % 10
		br /= 10
	}
	d[12] = cnpjDigit(d[:12], cnpjW1[:])
	d[13] = cnpjDigit(d[:13], cnpjW2[:])
	b := make([]byte, 14)
	for i, v := range d {
		b[i] = byte('0' + v)
	}
	return string(b)
}

func cnpjDigit(ds, w []int) int {
	sum := 0
	for i, v := range ds {
		sum += v * w[i]
	}
	r := sum % 11
	if r < 2 {
		return 0
	}
	return 11 - r
}

// ValidCPF reports whether s is 11 digits with correct check digits and
// not a repeated digit.
func ValidCPF(s string) bool {
	if len(s) != 11 || !allDigits(s) || repeated(s) {
		return false
	}
	return cpfFromBase(mustUint(s[:9])) == s
}

// ValidCNPJ reports whether s is 14 digits with correct check digits and
// not a repeated digit.
func ValidCNPJ(s string) bool {
	if len(s) != 14 || !allDigits(s) || repeated(s) {
		return false
	}
	br, _ := strconv.Atoi(s[8:12])
	return cnpjFromRoot(mustUint(s[:8]), br) == s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func repeated(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			return false
		}
	}
	return true
}

func mustUint(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}

// mod11Digit is a bank-style account check digit (weights 2..9 from the
// right; 10 becomes "X" is avoided by mapping it to 0).
func mod11Digit(number string) string {
	sum, w := 0, 2
	for i := len(number) - 1; i >= 0; i-- {
		sum += int(number[i]-'0') * w
		w++
		if w > 9 {
			w = 2
		}
	}
	r := 11 - sum%11
	if r >= 10 {
		r = 0
	}
	return string(rune('0' + r))
}

// Modular arithmetic for the document bijections.

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// modInverse returns x with a*x ≡ 1 (mod m); a and m must be coprime.
func modInverse(a, m int64) int64 {
	g, x := extGCD(a%m, m)
	if g != 1 {
		panic("corebank: modInverse of non-coprime values")
	}
	return ((x % m) + m) % m
}

func extGCD(a, b int64) (int64, int64) {
	oldR, r := a, b
	oldS, s := int64(1), int64(0)
	for r != 0 {
		q := oldR / r
		oldR, r = r, oldR-q*r
		oldS, s = s, oldS-q*s
	}
	return oldR, oldS
}

// mulmod returns a*b mod m for a, b < m ≤ 2^31·... (m up to 1e9 keeps the
// product inside int64).
func mulmod(a, b, m int64) int64 { return (a % m) * (b % m) % m }
