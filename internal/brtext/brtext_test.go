package brtext

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMoney(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"0.42", "BRL"}:                "R$ 0,42",
		{"1234.56", "BRL"}:             "R$ 1.234,56",
		{"100.00", "BRL"}:              "R$ 100,00",
		{"1000.00", ""}:                "R$ 1.000,00",
		{"0001000000.10", "BRL"}:       "R$ 1.000.000,10",
		{"9999999999999999.99", "BRL"}: "R$ 9.999.999.999.999.999,99",
		{"12.50", "USD"}:               "USD 12,50",
		// Not the spec's shape: shown as given, never rounded.
		{"1.5", "BRL"}:    "R$ 1.5",
		{"-3.00", "BRL"}:  "R$ -3.00",
		{"1e3", "BRL"}:    "R$ 1e3",
		{"12.345", "BRL"}: "R$ 12.345",
	} {
		require.Equal(t, want, Money(in[0], in[1]), "%v", in)
	}
}

func TestDocument(t *testing.T) {
	require.Equal(t, "CPF ***.982.247-**", Document("52998224725"))
	require.Equal(t, "CNPJ 11.222.333/0001-81", Document("11222333000181"))
	for _, odd := range []string{"", "123", "5299822472a", "529.982.247-25"} {
		require.Equal(t, odd, Document(odd))
	}
}

func FuzzMoney(f *testing.F) {
	for _, s := range []string{"0.42", "1234.56", "9999999999999999.99", "1.5", "", "0.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, amount string) {
		got := Money(amount, "BRL")
		require.True(t, strings.HasPrefix(got, "R$ "))
		if !moneyPattern.MatchString(amount) {
			require.Equal(t, "R$ "+amount, got)
			return
		}
		// The digits are the amount's, without leading zeros: nothing is
		// rounded or lost.
		digits := strings.NewReplacer(".", "", ",", "").Replace(strings.TrimPrefix(got, "R$ "))
		want := strings.TrimLeft(strings.Replace(amount, ".", "", 1), "0")
		require.Equal(t, strings.TrimLeft(want, "0"), strings.TrimLeft(digits, "0"))
		require.Equal(t, amount[len(amount)-2:], got[len(got)-2:])
	})
}

func TestDateTime(t *testing.T) {
	require.Equal(t, "10/03/2026 09:00 (horário de Brasília)", DateTime(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)))
	require.Equal(t, "09/03/2026 23:30 (horário de Brasília)", DateTime(time.Date(2026, 3, 10, 2, 30, 0, 0, time.UTC)), "the day before in Brasília")
	require.Equal(t, "15/01/2026 21:00 (horário de Brasília)", DateTime(time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC)), "no daylight saving time")
	require.Equal(t, "10/03/2026 09:00 (Brasília time)", DateTimeEN(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)))
}
