package opendata

import (
	"fmt"
	"strconv"
)

// decScale is the scale of every decimal column: DECIMAL(18,6).
const decScale = 6

// maxIntDigits is how many integer digits DECIMAL(18,6) holds.
const maxIntDigits = 18 - decScale

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

// parseDecimal reads a plain decimal string ("45.00", "0.150000", "-1.5")
// exactly into units of 10^-6, never through float64. It returns the number
// of fraction digits written, for the scale flags. The reason is meant for a
// quarantine row.
func parseDecimal(s string) (units int64, scale int, reason string) {
	i := 0
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg = true
		i = 1
	}
	var v int64
	intDigits, fracDigits := 0, 0
	for ; i < len(s) && s[i] != '.'; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, 0, fmt.Sprintf("value %s is not a decimal", strconv.Quote(s))
		}
		if intDigits > 0 || c != '0' { // leading zeros don't count
			intDigits++
		}
		if intDigits > maxIntDigits {
			return 0, 0, fmt.Sprintf("value %s does not fit DECIMAL(18,6)", strconv.Quote(s))
		}
		v = v*10 + int64(c-'0')
	}
	hasInt := i > 0 && !(neg && i == 1)
	if i < len(s) { // at '.'
		i++
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, 0, fmt.Sprintf("value %s is not a decimal", strconv.Quote(s))
			}
			fracDigits++
			if fracDigits > decScale {
				// Trailing digits beyond 6 are refused even when zero: the
				// publisher used a precision the contract cannot carry.
				return 0, 0, fmt.Sprintf("value %s has more than 6 decimal places", strconv.Quote(s))
			}
			v = v*10 + int64(c-'0')
		}
		if fracDigits == 0 {
			return 0, 0, fmt.Sprintf("value %s is not a decimal", strconv.Quote(s))
		}
	}
	if !hasInt {
		return 0, 0, fmt.Sprintf("value %s is not a decimal", strconv.Quote(s))
	}
	v *= pow10[decScale-fracDigits]
	if neg {
		v = -v
	}
	return v, fracDigits, ""
}
