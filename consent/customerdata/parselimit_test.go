package customerdata

import (
	"strings"
	"testing"
)

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]LimitOptions{
		"100:200":  {PerSecond: 100, Burst: 200},
		" 50 ":     {PerSecond: 50, Burst: 100},
		"8.34":     {PerSecond: 8.34, Burst: 17},
		"1000:1":   {PerSecond: 1000, Burst: 1},
		"12.5:300": {PerSecond: 12.5, Burst: 300},
	} {
		got, err := ParseLimit(in)
		if err != nil || got.PerSecond != want.PerSecond || got.Burst != want.Burst {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if _, err := NewLimiter(got); err != nil {
			t.Errorf("ParseLimit(%q) gave options NewLimiter refuses: %v", in, err)
		}
	}
	for in, says := range map[string]string{
		"5":       "below the 500 a minute",
		"8.3":     "below the 500 a minute",
		"":        "want <calls per second>",
		"abc":     "want <calls per second>",
		"-1":      "want <calls per second>",
		"Inf":     "want <calls per second>",
		"NaN":     "want <calls per second>",
		"100:0":   "burst",
		"100:1.5": "burst",
		"100:x":   "burst",
	} {
		if _, err := ParseLimit(in); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseLimit(%q): %v, want an error saying %q", in, err, says)
		}
	}
}
