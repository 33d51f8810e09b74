package paymentshttp

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ofp-dev/ofp/consent/payments"
)

// spec is the official Payments API 4.0.0 (OpenBanking-Brasil/openapi
// swagger-apis/payments/4.0.0.yml at 9116cf09c1c3), used to check the
// shape of every request's data claim.
//
//go:embed oas/payments-4.0.0.yml
var spec []byte

var (
	specOnce    sync.Once
	specSchemas map[string]*openapi3.Schema
	specErr     error
)

func loadSchemas() (map[string]*openapi3.Schema, error) {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(spec)
		if err != nil {
			specErr = fmt.Errorf("paymentshttp: load the embedded payments spec: %w", err)
			return
		}
		if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation(), openapi3.DisableSchemaPatternValidation()); err != nil {
			specErr = fmt.Errorf("paymentshttp: the embedded payments spec is invalid: %w", err)
			return
		}
		specSchemas = map[string]*openapi3.Schema{}
		for _, name := range []string{"CreatePaymentConsent", "CreatePixPayment", "PatchPixPayment"} {
			ref, ok := doc.Components.Schemas[name]
			if !ok || ref.Value == nil {
				specErr = fmt.Errorf("paymentshttp: the embedded payments spec has no schema %s", name)
				return
			}
			specSchemas[name] = ref.Value
		}
	})
	return specSchemas, specErr
}

// checkShape validates {"data": data} against the spec's request schema
// name. A violation is a *payments.RuleError: PARAMETRO_NAO_INFORMADO for a
// missing field, PARAMETRO_INVALIDO otherwise, naming the field.
func checkShape(name string, data json.RawMessage) error {
	schemas, err := loadSchemas()
	if err != nil {
		return err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "Parâmetro data não obedece às regras de formatação esperadas."}
	}
	v = numbersToFloat(v)
	err = schemas[name].VisitJSON(map[string]any{"data": v}, openapi3.VisitAsRequest(), openapi3.EnableFormatValidation())
	if err == nil {
		return nil
	}
	if me, ok := err.(openapi3.MultiError); ok && len(me) > 0 {
		err = me[0]
	}
	se, ok := err.(*openapi3.SchemaError)
	if !ok {
		return &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "Parâmetro data não obedece às regras de formatação esperadas."}
	}
	path := strings.Join(se.JSONPointer(), ".")
	if se.SchemaField == "oneOf" && tooManyPayments(se.Value) {
		return &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "Quantidade permitida de pagamentos excedida"}
	}
	if se.SchemaField == "required" {
		field := path
		if i := strings.Index(se.Reason, `"`); i >= 0 {
			if j := strings.Index(se.Reason[i+1:], `"`); j >= 0 {
				prop := se.Reason[i+1 : i+1+j]
				if field == "" {
					field = prop
				} else if !strings.HasSuffix(field, "."+prop) && field != prop {
					field += "." + prop
				}
			}
		}
		return &payments.RuleError{Code: payments.CodeMissingParameter, Detail: "Parâmetro " + field + " obrigatório não informado."}
	}
	if path == "" {
		path = "data"
	}
	return &payments.RuleError{Code: payments.CodeInvalidParameter, Detail: "Parâmetro " + path + " não obedece às regras de formatação esperadas."}
}

// tooManyPayments reports whether a schedule value asks for more than
// payments.MaxScheduledPayments payments (the spec's detail for that case
// is "Quantidade permitida de pagamentos excedida").
func tooManyPayments(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, kind := range []string{"daily", "weekly", "monthly"} {
		if k, ok := m[kind].(map[string]any); ok {
			if q, ok := k["quantity"].(float64); ok && q > payments.MaxScheduledPayments {
				return true
			}
		}
	}
	if c, ok := m["custom"].(map[string]any); ok {
		if d, ok := c["dates"].([]any); ok && len(d) > payments.MaxScheduledPayments {
			return true
		}
	}
	return false
}

// numbersToFloat turns json.Number into float64 for the schema visitor
// (which checks integer-ness itself).
func numbersToFloat(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbersToFloat(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersToFloat(e)
		}
	}
	return v
}
