package idp

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDocuments(t *testing.T) {
	require.True(t, ValidCPF("52998224725"))
	require.True(t, ValidCPF(NormaliseDocument(" 529.982.247-25 ")))
	require.False(t, ValidCPF("52998224726"))
	require.False(t, ValidCPF("11111111111"))
	require.False(t, ValidCPF("5299822472a"))
	require.False(t, ValidCPF("5299822472"))
	require.True(t, ValidCNPJ(NormaliseDocument("11.222.333/0001-81")))
	require.False(t, ValidCNPJ("11222333000182"))
	require.False(t, ValidCNPJ("00000000000000"))
	require.Equal(t, "52998224725", completeCPF("529982247"))
	require.Equal(t, "11222333000181", completeCNPJ("112223330001"))
}

func TestDemoCredentialsAreDeterministicAndValid(t *testing.T) {
	a, b := NewDemo().TestCredentials(), NewDemo().TestCredentials()
	require.Equal(t, a, b)
	require.Len(t, a, 4)
	kinds := map[string]int{}
	for _, c := range a {
		kinds[c.Kind]++
		require.True(t, ValidCPF(c.CPF), c.CPF)
		if c.Kind == "PJ" {
			require.True(t, ValidCNPJ(c.CNPJ), c.CNPJ)
		} else {
			require.Empty(t, c.CNPJ)
		}
	}
	require.Equal(t, map[string]int{"PF": 3, "PJ": 1}, kinds)
}

func TestDemoAuthenticate(t *testing.T) {
	d := NewDemo()
	ctx := context.Background()
	creds := d.TestCredentials()
	ana, carlaPJ := creds[0], creds[3]

	id, err := d.Authenticate(ctx, Credentials{CPF: ana.CPF, Password: ana.Password}, LoA2)
	require.NoError(t, err)
	require.Equal(t, LoA2, id.LoA)
	require.Equal(t, ana.CPF, id.CPF)
	require.NotEmpty(t, id.Subject)
	again, err := d.Authenticate(ctx, Credentials{CPF: ana.CPF, Password: ana.Password}, LoA2)
	require.NoError(t, err)
	require.Equal(t, id.Subject, again.Subject, "sub is stable")

	_, err = d.Authenticate(ctx, Credentials{CPF: ana.CPF, Password: "wrong"}, LoA2)
	require.ErrorIs(t, err, ErrInvalidCredentials)
	_, err = d.Authenticate(ctx, Credentials{CPF: "52998224725x", Password: ana.Password}, LoA2)
	require.ErrorIs(t, err, ErrInvalidCredentials)
	_, err = d.Authenticate(ctx, Credentials{CPF: ana.CPF, Password: ana.Password}, LoA3)
	require.ErrorIs(t, err, ErrSecondFactorRequired)
	_, err = d.Authenticate(ctx, Credentials{CPF: ana.CPF, Password: ana.Password, OTP: "000000"}, LoA3)
	require.ErrorIs(t, err, ErrInvalidCredentials)
	id3, err := d.Authenticate(ctx, Credentials{CPF: ana.CPF, Password: ana.Password, OTP: ana.OTP}, LoA3)
	require.NoError(t, err)
	require.Equal(t, LoA3, id3.LoA)

	// Ana represents no company.
	_, err = d.Authenticate(ctx, Credentials{CPF: ana.CPF, CNPJ: carlaPJ.CNPJ, Password: ana.Password}, LoA2)
	require.ErrorIs(t, err, ErrInvalidCredentials)

	pj, err := d.Authenticate(ctx, Credentials{CPF: carlaPJ.CPF, CNPJ: carlaPJ.CNPJ, Password: carlaPJ.Password}, LoA2)
	require.NoError(t, err)
	require.Equal(t, carlaPJ.CNPJ, pj.CNPJ)
	pf, err := d.Authenticate(ctx, Credentials{CPF: carlaPJ.CPF, Password: carlaPJ.Password}, LoA2)
	require.NoError(t, err)
	require.Equal(t, pf.Subject, pj.Subject, "one person, one sub")

	personal, err := d.Accounts(ctx, pf)
	require.NoError(t, err)
	business, err := d.Accounts(ctx, pj)
	require.NoError(t, err)
	require.Len(t, personal, 1)
	require.Len(t, business, 3)
	require.NotEqual(t, personal[0].ID, business[0].ID)
}
