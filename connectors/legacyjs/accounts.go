package legacyjs

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"unicode/utf8"

	"github.com/ofp-dev/ofp/connectors/corebank"
)

// SibanAccountsJS is the example adapter: mapping functions from SIBAN, a
// fictional legacy core, to accounts 2.4.2 (mapAccounts, mapAccount,
// mapBalances).
//
//go:embed adapters/siban_accounts.js
var SibanAccountsJS string

// Institution is what the mappings need to know about the institution
// itself; it is passed to the script as its second argument.
type Institution struct {
	BrandName   string `json:"brandName"`
	CompanyCnpj string `json:"companyCnpj"`
	CompeCode   string `json:"compeCode"`
}

// AccountsAdapter reads accounts 2.4.2 data out of a legacy system's
// responses through an operator script that defines mapAccounts(legacy,
// institution), mapAccount(legacy, institution) and mapBalances(legacy).
// It checks every result strictly against the spec's shapes before
// returning it, so a script bug surfaces as ErrOutput, never as a
// malformed API answer.
type AccountsAdapter struct {
	eng  *Engine
	inst []byte
}

// NewAccountsAdapter loads script (SibanAccountsJS, or an operator's own
// with the same three functions) under opts.
func NewAccountsAdapter(name, script string, inst Institution, opts Options) (*AccountsAdapter, error) {
	raw, err := json.Marshal(inst)
	if err != nil {
		return nil, err
	}
	eng, err := New(name, script, opts)
	if err != nil {
		return nil, err
	}
	return &AccountsAdapter{eng: eng, inst: raw}, nil
}

// Close releases the engine.
func (a *AccountsAdapter) Close() { a.eng.Close() }

// Accounts maps a legacy account-list response to AccountData entries.
func (a *AccountsAdapter) Accounts(ctx context.Context, legacy []byte) ([]corebank.Account, error) {
	out, err := a.eng.Call(ctx, "mapAccounts", legacy, a.inst)
	if err != nil {
		return nil, err
	}
	accts, err := DecodeAccounts(out)
	if err != nil {
		return nil, a.eng.fail("mapAccounts", err, 0)
	}
	return accts, nil
}

// Account maps a legacy account response to AccountIdentificationData.
func (a *AccountsAdapter) Account(ctx context.Context, legacy []byte) (corebank.AccountIdentification, error) {
	out, err := a.eng.Call(ctx, "mapAccount", legacy, a.inst)
	if err != nil {
		return corebank.AccountIdentification{}, err
	}
	id, err := DecodeAccountIdentification(out)
	if err != nil {
		return corebank.AccountIdentification{}, a.eng.fail("mapAccount", err, 0)
	}
	return id, nil
}

// Balances maps a legacy balance response to AccountBalancesData.
func (a *AccountsAdapter) Balances(ctx context.Context, legacy []byte) (corebank.AccountBalances, error) {
	out, err := a.eng.Call(ctx, "mapBalances", legacy)
	if err != nil {
		return corebank.AccountBalances{}, err
	}
	b, err := DecodeBalances(out)
	if err != nil {
		return corebank.AccountBalances{}, a.eng.fail("mapBalances", err, 0)
	}
	return b, nil
}

// Patterns and enums of accounts 2.4.2.
var (
	reID          = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$`)
	reCNPJ        = regexp.MustCompile(`^\d{14}$`)
	reCompe       = regexp.MustCompile(`^\d{3}$`)
	reBranch      = regexp.MustCompile(`^\d{4}$`)
	reNumber      = regexp.MustCompile(`^\d{8,20}$`)
	reCurrency    = regexp.MustCompile(`^[A-Z]{3}$`)
	reAmount      = regexp.MustCompile(`^\d{1,15}\.\d{2,4}$`)
	reSigned      = regexp.MustCompile(`^-?\d{1,15}\.\d{2,4}$`)
	reUpdateTime  = regexp.MustCompile(`^(\d{4})-(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])T(?:[01]\d|2[0123]):(?:[012345]\d):(?:[012345]\d)Z$`)
	accountTypes  = map[string]bool{corebank.AccountChecking: true, corebank.AccountSavings: true, corebank.AccountPrepaid: true}
	accountSubtyp = map[string]bool{"INDIVIDUAL": true, "CONJUNTA_SIMPLES": true, "CONJUNTA_SOLIDARIA": true}
)

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and trailing data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after the result", ErrOutput)
	}
	return nil
}

type fieldCheck struct {
	name, value string
	re          *regexp.Regexp
	required    bool
	maxRunes    int
}

func checkFields(where string, fs ...fieldCheck) error {
	for _, f := range fs {
		if f.value == "" {
			if f.required {
				return fmt.Errorf("%w: %s.%s is required", ErrOutput, where, f.name)
			}
			continue
		}
		if !utf8.ValidString(f.value) {
			return fmt.Errorf("%w: %s.%s is not valid UTF-8", ErrOutput, where, f.name)
		}
		if f.maxRunes > 0 && utf8.RuneCountInString(f.value) > f.maxRunes {
			return fmt.Errorf("%w: %s.%s is longer than %d", ErrOutput, where, f.name, f.maxRunes)
		}
		if f.re != nil && !f.re.MatchString(f.value) {
			return fmt.Errorf("%w: %s.%s %q does not match %s", ErrOutput, where, f.name, f.value, f.re)
		}
	}
	return nil
}

// DecodeAccounts parses a mapping result as a list of accounts 2.4.2
// AccountData and checks every field the spec constrains.
func DecodeAccounts(raw []byte) ([]corebank.Account, error) {
	var accts []corebank.Account
	if err := decodeStrict(raw, &accts); err != nil {
		return nil, err
	}
	if accts == nil {
		return nil, fmt.Errorf("%w: expected an array of accounts", ErrOutput)
	}
	seen := map[string]bool{}
	for i, a := range accts {
		where := fmt.Sprintf("accounts[%d]", i)
		if !accountTypes[a.Type] {
			return nil, fmt.Errorf("%w: %s.type %q is not an account type", ErrOutput, where, a.Type)
		}
		err := checkFields(where,
			fieldCheck{name: "brandName", value: a.BrandName, required: true, maxRunes: 80},
			fieldCheck{name: "companyCnpj", value: a.CompanyCnpj, re: reCNPJ, required: true},
			fieldCheck{name: "compeCode", value: a.CompeCode, re: reCompe, required: true},
			fieldCheck{name: "branchCode", value: a.BranchCode, re: reBranch, required: a.Type != corebank.AccountPrepaid},
			fieldCheck{name: "number", value: a.Number, re: reNumber, required: true},
			fieldCheck{name: "checkDigit", value: a.CheckDigit, required: true, maxRunes: 1},
			fieldCheck{name: "accountId", value: a.AccountID, re: reID, required: true},
		)
		if err != nil {
			return nil, err
		}
		if seen[a.AccountID] {
			return nil, fmt.Errorf("%w: %s.accountId %q repeats", ErrOutput, where, a.AccountID)
		}
		seen[a.AccountID] = true
	}
	return accts, nil
}

// DecodeAccountIdentification parses a mapping result as accounts 2.4.2
// AccountIdentificationData.
func DecodeAccountIdentification(raw []byte) (corebank.AccountIdentification, error) {
	var id corebank.AccountIdentification
	if err := decodeStrict(raw, &id); err != nil {
		return id, err
	}
	if !accountTypes[id.Type] {
		return id, fmt.Errorf("%w: type %q is not an account type", ErrOutput, id.Type)
	}
	if !accountSubtyp[id.Subtype] {
		return id, fmt.Errorf("%w: subtype %q is not an account subtype", ErrOutput, id.Subtype)
	}
	return id, checkFields("account",
		fieldCheck{name: "compeCode", value: id.CompeCode, re: reCompe, required: true},
		fieldCheck{name: "branchCode", value: id.BranchCode, re: reBranch, required: id.Type != corebank.AccountPrepaid},
		fieldCheck{name: "number", value: id.Number, re: reNumber, required: true},
		fieldCheck{name: "checkDigit", value: id.CheckDigit, required: true, maxRunes: 1},
		fieldCheck{name: "currency", value: id.Currency, re: reCurrency, required: true},
	)
}

// DecodeBalances parses a mapping result as accounts 2.4.2
// AccountBalancesData.
func DecodeBalances(raw []byte) (corebank.AccountBalances, error) {
	var b corebank.AccountBalances
	if err := decodeStrict(raw, &b); err != nil {
		return b, err
	}
	return b, checkFields("balances",
		fieldCheck{name: "availableAmount.amount", value: b.AvailableAmount.Amount, re: reSigned, required: true, maxRunes: 21},
		fieldCheck{name: "availableAmount.currency", value: b.AvailableAmount.Currency, re: reCurrency, required: true},
		fieldCheck{name: "blockedAmount.amount", value: b.BlockedAmount.Amount, re: reAmount, required: true, maxRunes: 20},
		fieldCheck{name: "blockedAmount.currency", value: b.BlockedAmount.Currency, re: reCurrency, required: true},
		fieldCheck{name: "automaticallyInvestedAmount.amount", value: b.AutomaticallyInvestedAmount.Amount, re: reSigned, required: true, maxRunes: 21},
		fieldCheck{name: "automaticallyInvestedAmount.currency", value: b.AutomaticallyInvestedAmount.Currency, re: reCurrency, required: true},
		fieldCheck{name: "updateDateTime", value: b.UpdateDateTime, re: reUpdateTime, required: true},
	)
}
