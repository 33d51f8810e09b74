package legacyjs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/ofp-dev/ofp/connectors/corebank"
)

// FuzzDecodeOutput feeds arbitrary bytes, as a script might return them, to
// the three decoders: they never panic, fail only with ErrOutput, and what
// they accept re-encodes to something they accept again, unchanged.
func FuzzDecodeOutput(f *testing.F) {
	for _, seed := range []string{
		`[{"brandName":"b","companyCnpj":"43215678000102","type":"CONTA_POUPANCA","compeCode":"399","branchCode":"0001","number":"12345678","checkDigit":"1","accountId":"a1"}]`,
		`[{"brandName":"b","companyCnpj":"43215678000102","type":"CONTA_PAGAMENTO_PRE_PAGA","compeCode":"399","number":"12345678","checkDigit":"X","accountId":"a-1"}]`,
		`{"compeCode":"001","branchCode":"0001","number":"12345678","checkDigit":"1","type":"CONTA_DEPOSITO_A_VISTA","subtype":"INDIVIDUAL","currency":"BRL"}`,
		`{"availableAmount":{"amount":"-1.00","currency":"BRL"},"blockedAmount":{"amount":"0.00","currency":"BRL"},"automaticallyInvestedAmount":{"amount":"1.0000","currency":"BRL"},"updateDateTime":"2026-03-10T09:15:00Z"}`,
		`[]`, `null`, `{}`, `[null]`, `[{}] []`, `"x"`, `[{"accountId":"\ud800"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if accts, err := DecodeAccounts(raw); err != nil {
			if !errors.Is(err, ErrOutput) {
				t.Fatalf("DecodeAccounts: %v is not ErrOutput", err)
			}
		} else {
			again, err := json.Marshal(accts)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeAccounts(again)
			if err != nil {
				t.Fatalf("accepted output does not decode again: %v\n%s", err, again)
			}
			requireSame(t, accts, back)
		}
		if id, err := DecodeAccountIdentification(raw); err != nil {
			if !errors.Is(err, ErrOutput) {
				t.Fatalf("DecodeAccountIdentification: %v is not ErrOutput", err)
			}
		} else {
			again, _ := json.Marshal(id)
			back, err := DecodeAccountIdentification(again)
			if err != nil {
				t.Fatalf("accepted output does not decode again: %v", err)
			}
			requireSame(t, id, back)
		}
		if b, err := DecodeBalances(raw); err != nil {
			if !errors.Is(err, ErrOutput) {
				t.Fatalf("DecodeBalances: %v is not ErrOutput", err)
			}
		} else {
			again, _ := json.Marshal(b)
			back, err := DecodeBalances(again)
			if err != nil {
				t.Fatalf("accepted output does not decode again: %v", err)
			}
			requireSame(t, b, back)
		}
	})
}

func requireSame[T any](t *testing.T, a, b T) {
	t.Helper()
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if string(x) != string(y) {
		t.Fatalf("round trip changed the value:\n%s\n%s", x, y)
	}
}

// FuzzSibanMapping runs the example adapter on arbitrary legacy responses:
// every outcome is either spec-shaped accounts or a typed *Error.
func FuzzSibanMapping(f *testing.F) {
	good, err := os.ReadFile("testdata/siban_accounts.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"cabecalho":{"codRetorno":0},"contas":[{"idConta":"1 2","agencia":"x","conta":"1-1","modalidade":"CC","situacao":"ATIVA"}]}`))
	f.Add([]byte(`{"cabecalho":{"codRetorno":0},"contas":{"length":1e12}}`))
	f.Add([]byte(`[]`))
	a, err := NewAccountsAdapter("siban", SibanAccountsJS, inst, testOptions(nil))
	if err != nil {
		f.Fatal(err)
	}
	defer a.Close()
	f.Fuzz(func(t *testing.T, legacy []byte) {
		accts, err := a.Accounts(context.Background(), legacy)
		if err != nil {
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, acc := range accts {
			if acc.Type == corebank.AccountPrepaid && acc.BranchCode != "" {
				t.Fatalf("prepaid account with a branch: %+v", acc)
			}
		}
	})
}
