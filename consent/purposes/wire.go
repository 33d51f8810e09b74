package purposes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// timeLayout is the spec's date-time shape for meta.requestDateTime.
const timeLayout = "2006-01-02T15:04:05Z"

// MaxBodyBytes bounds an admin request body.
const MaxBodyBytes = 64 << 10

type wireText struct {
	PtBR string `json:"pt-BR"`
	En   string `json:"en"`
}

// wirePurposeIn is the body of POST and PUT: {"data": {...}}. Every field
// is a pointer or slice so that "missing" can be told from "empty".
type wirePurposeIn struct {
	ID                  string          `json:"id"`
	Name                *wireText       `json:"name"`
	Description         *wireText       `json:"description"`
	PermissionGroups    []string        `json:"permissionGroups"`
	DefaultDurationDays *int            `json:"defaultDurationDays"`
	MaxDurationDays     *int            `json:"maxDurationDays"`
	LegalBasis          string          `json:"legalBasis"`
	RevocationRule      string          `json:"revocationRule"`
	Version             json.RawMessage `json:"version,omitempty"` // ignored: versions travel in ETag/If-Match
	CreatedAt           json.RawMessage `json:"createdAt,omitempty"`
	UpdatedAt           json.RawMessage `json:"updatedAt,omitempty"`
}

type wirePurposeOut struct {
	ID                  string    `json:"id"`
	Name                wireText  `json:"name"`
	Description         wireText  `json:"description"`
	PermissionGroups    []string  `json:"permissionGroups"`
	Permissions         []string  `json:"permissions"`
	DefaultDurationDays *int      `json:"defaultDurationDays"`
	MaxDurationDays     *int      `json:"maxDurationDays"`
	LegalBasis          string    `json:"legalBasis"`
	RevocationRule      string    `json:"revocationRule"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
	Version             int64     `json:"version"`
}

func toWire(p Purpose) wirePurposeOut {
	groups := p.PermissionGroups
	if groups == nil {
		groups = []string{}
	}
	perms := p.Permissions()
	if perms == nil {
		perms = []string{}
	}
	return wirePurposeOut{
		ID: p.ID, Name: wireText(p.Name), Description: wireText(p.Description),
		PermissionGroups: groups, Permissions: perms,
		DefaultDurationDays: p.DefaultDurationDays, MaxDurationDays: p.MaxDurationDays,
		LegalBasis: string(p.LegalBasis), RevocationRule: string(p.RevocationRule),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Version: p.Version,
	}
}

// BodyError is a request body that is not a well-formed purpose document
// (HTTP 400): not JSON, trailing data, unknown fields, wrong types, too big.
type BodyError struct{ Reason string }

func (e *BodyError) Error() string { return "purposes: malformed request body: " + e.Reason }

// ParsePurposeBody decodes an admin request body ({"data": {...}}) into a
// Purpose. It returns a *BodyError for anything that is not a well-formed
// document; it does not validate the purpose (see Purpose.Validate).
// Missing texts decode as empty strings, which Validate reports.
func ParsePurposeBody(r io.Reader) (Purpose, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return Purpose{}, &BodyError{Reason: "could not read the body"}
	}
	if len(b) > MaxBodyBytes {
		return Purpose{}, &BodyError{Reason: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}
	}
	var env struct {
		Data *wirePurposeIn `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return Purpose{}, &BodyError{Reason: describeJSONError(err)}
	}
	if dec.More() {
		return Purpose{}, &BodyError{Reason: "the body has data after the JSON document"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Purpose{}, &BodyError{Reason: "the body has data after the JSON document"}
	}
	if env.Data == nil {
		return Purpose{}, &BodyError{Reason: `the body must be an object {"data": {...}}`}
	}
	in := env.Data
	p := Purpose{
		ID: in.ID, PermissionGroups: in.PermissionGroups,
		DefaultDurationDays: in.DefaultDurationDays, MaxDurationDays: in.MaxDurationDays,
		LegalBasis: LegalBasis(in.LegalBasis), RevocationRule: RevocationRule(in.RevocationRule),
	}
	if in.Name != nil {
		p.Name = Text(*in.Name)
	}
	if in.Description != nil {
		p.Description = Text(*in.Description)
	}
	return p, nil
}

// describeJSONError says what is wrong without echoing the body.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("the body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be a JSON %s", te.Field, jsonKind(te.Type.String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or truncated"
	default:
		// encoding/json reports unknown fields as: json: unknown field "x"
		return "the body does not match the purpose document: " + err.Error()
	}
}

func jsonKind(goType string) string {
	switch goType {
	case "int", "*int", "int64":
		return "integer"
	case "string":
		return "string"
	case "[]string":
		return "array of strings"
	}
	return "value of another type"
}

type meta struct {
	RequestDateTime string `json:"requestDateTime"`
}

// Error codes answered by the admin API besides the validation codes.
const (
	CodeMalformedBody        = "JSON_INVALIDO"
	CodeUnsupportedMedia     = "TIPO_CONTEUDO_NAO_SUPORTADO"
	CodeNotFound             = "RECURSO_NAO_ENCONTRADO"
	CodeAlreadyExists        = "RECURSO_JA_EXISTE"
	CodeVersionMismatch      = "VERSAO_DIVERGENTE"
	CodePreconditionRequired = "PRECONDICAO_OBRIGATORIA"
	CodeMethodNotAllowed     = httpx.CodeMethodNotAllowed
	CodeIDMismatch           = "ID_DIVERGENTE"
	CodeInternal             = "ERRO_INTERNO"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	if err := httpx.WriteJSON(w, status, v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func writeError(w http.ResponseWriter, status int, now time.Time, code, title, detail string) {
	httpx.WriteErrorAt(w, status, now, httpx.ErrorDetail{Code: code, Title: title, Detail: detail})
}
