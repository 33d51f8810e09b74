package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/connectors/corebank"
)

func TestAccountChoiceLabel(t *testing.T) {
	require.Equal(t, "Conta corrente · agência 3001 · 1000000000-8",
		accountChoiceLabel(corebank.Account{Type: corebank.AccountChecking, BranchCode: "3001", Number: "1000000000", CheckDigit: "8"}))
	// A prepaid account has no branch: no empty part.
	require.Equal(t, "Conta de pagamento · 1000000001-6",
		accountChoiceLabel(corebank.Account{Type: corebank.AccountPrepaid, Number: "1000000001", CheckDigit: "6"}))
	require.Equal(t, "Conta · 77", accountChoiceLabel(corebank.Account{Type: "OTHER", Number: "77"}))
}
