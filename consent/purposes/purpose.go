package purposes

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ofp-dev/ofp/consent"
)

// LegalBasis is the LGPD (Lei 13.709/2018) art. 7 hypothesis under which
// the personal data of a purpose is processed.
type LegalBasis string

// The ten hypotheses of LGPD art. 7, in the article's order (I to X).
const (
	LegalBasisConsentimento             LegalBasis = "CONSENTIMENTO"               // I
	LegalBasisObrigacaoLegal            LegalBasis = "OBRIGACAO_LEGAL"             // II
	LegalBasisExecucaoPoliticasPublicas LegalBasis = "EXECUCAO_POLITICAS_PUBLICAS" // III
	LegalBasisEstudosPesquisa           LegalBasis = "ESTUDOS_ORGAO_PESQUISA"      // IV
	LegalBasisExecucaoContrato          LegalBasis = "EXECUCAO_CONTRATO"           // V
	LegalBasisExercicioRegularDireitos  LegalBasis = "EXERCICIO_REGULAR_DIREITOS"  // VI
	LegalBasisProtecaoVida              LegalBasis = "PROTECAO_VIDA"               // VII
	LegalBasisTutelaSaude               LegalBasis = "TUTELA_SAUDE"                // VIII
	LegalBasisLegitimoInteresse         LegalBasis = "LEGITIMO_INTERESSE"          // IX
	LegalBasisProtecaoCredito           LegalBasis = "PROTECAO_CREDITO"            // X
)

// LegalBases lists every LegalBasis in the article's order.
var LegalBases = []LegalBasis{
	LegalBasisConsentimento, LegalBasisObrigacaoLegal, LegalBasisExecucaoPoliticasPublicas,
	LegalBasisEstudosPesquisa, LegalBasisExecucaoContrato, LegalBasisExercicioRegularDireitos,
	LegalBasisProtecaoVida, LegalBasisTutelaSaude, LegalBasisLegitimoInteresse, LegalBasisProtecaoCredito,
}

// RevocationRule says what happens to consents linked to a consent of this
// purpose (optimised journey, data.journey.linkId) when it is revoked.
type RevocationRule string

const (
	// RevokeLinked revokes the linked consents too.
	RevokeLinked RevocationRule = "REVOKE_LINKED"
	// KeepLinked leaves the linked consents as they are.
	KeepLinked RevocationRule = "KEEP_LINKED"
	// AskCustomer asks the customer, in the revocation journey, whether to
	// revoke the linked consents.
	AskCustomer RevocationRule = "ASK_CUSTOMER"
)

// RevocationRules lists every RevocationRule.
var RevocationRules = []RevocationRule{RevokeLinked, KeepLinked, AskCustomer}

// Text is a short text in the two languages the consent journey speaks.
type Text struct {
	PtBR string
	En   string
}

// Purpose is one reason for which the receiver asks a customer for a data
// consent, with the permission groups the purpose needs.
type Purpose struct {
	// ID is a slug: lowercase letters, digits and single hyphens, 2 to 64
	// characters, e.g. "credit-analysis".
	ID          string
	Name        Text
	Description Text
	// PermissionGroups are names of consent.PermissionGroups; a consent for
	// this purpose asks for every permission of every group.
	PermissionGroups []string
	// DefaultDurationDays is the consent duration the journey proposes; nil
	// proposes an open-ended ("prazo indeterminado") consent.
	DefaultDurationDays *int
	// MaxDurationDays caps the duration the customer may choose; nil allows
	// an open-ended consent.
	MaxDurationDays *int
	LegalBasis      LegalBasis
	RevocationRule  RevocationRule
	// CreatedAt, UpdatedAt and Version are set by the Store.
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// MaxDurationDaysLimit bounds every duration (100 years), so that a day
// count always converts to a time.Duration without overflow.
const MaxDurationDaysLimit = 36500

// Limits on the texts, in characters.
const (
	maxNameLen        = 120
	maxDescriptionLen = 2000
)

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Sentinel errors of the Store. The HTTP layer maps them to status codes.
var (
	// ErrNotFound: no purpose has this id (404).
	ErrNotFound = errors.New("purposes: purpose not found")
	// ErrAlreadyExists: a purpose with this id exists; choose another id or
	// update it instead (409).
	ErrAlreadyExists = errors.New("purposes: purpose already exists")
	// ErrVersionConflict: the purpose changed since the caller read it;
	// read it again and re-apply the change (412).
	ErrVersionConflict = errors.New("purposes: purpose version does not match")
)

// FieldError is one validation failure of a Purpose.
type FieldError struct {
	// Field is the JSON name of the field, e.g. "name.en".
	Field string
	// Code is a machine-readable reason, e.g. CAMPO_OBRIGATORIO.
	Code    string
	Message string
}

// Validation error codes (answered as the error's code with HTTP 422).
const (
	CodeRequired     = "CAMPO_OBRIGATORIO"
	CodeInvalidValue = "VALOR_INVALIDO"
	CodeUnknownGroup = "GRUPO_PERMISSOES_DESCONHECIDO"
	CodeBadDuration  = "DURACAO_INVALIDA"
)

// ValidationError lists every problem found in a Purpose.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "purposes: invalid purpose: " + strings.Join(parts, "; ")
}

// Validate checks everything a purpose must satisfy before it is stored
// and returns a *ValidationError listing every failure (nil when valid).
// Timestamps and version are not checked: the Store owns them.
func (p Purpose) Validate() error {
	var fs []FieldError
	add := func(field, code, format string, args ...any) {
		fs = append(fs, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case p.ID == "":
		add("id", CodeRequired, "id is required")
	case len(p.ID) < 2 || len(p.ID) > 64 || !slugRE.MatchString(p.ID):
		add("id", CodeInvalidValue, "id must be 2 to 64 lowercase letters, digits and single hyphens")
	}
	text := func(field, v string, max int) {
		switch {
		case strings.TrimSpace(v) == "":
			add(field, CodeRequired, "%s is required", field)
		case !utf8.ValidString(v):
			add(field, CodeInvalidValue, "%s is not valid UTF-8", field)
		case utf8.RuneCountInString(v) > max:
			add(field, CodeInvalidValue, "%s is longer than %d characters", field, max)
		}
	}
	text("name.pt-BR", p.Name.PtBR, maxNameLen)
	text("name.en", p.Name.En, maxNameLen)
	text("description.pt-BR", p.Description.PtBR, maxDescriptionLen)
	text("description.en", p.Description.En, maxDescriptionLen)

	if len(p.PermissionGroups) == 0 {
		add("permissionGroups", CodeRequired, "at least one permission group is required")
	}
	seen := map[string]bool{}
	for _, g := range p.PermissionGroups {
		if _, ok := GroupByName(g); !ok {
			add("permissionGroups", CodeUnknownGroup, "%q is not a permission group of the Consents API", g)
			continue
		}
		if seen[g] {
			add("permissionGroups", CodeInvalidValue, "%q is listed twice", g)
		}
		seen[g] = true
	}
	for _, perm := range p.Permissions() {
		if !consent.IsKnownPermission(perm) { // guards a drift between the group table and the enum
			add("permissionGroups", CodeUnknownGroup, "permission %s is not in the Consents API enum", perm)
		}
	}

	days := func(field string, v *int) bool {
		if v == nil {
			return true
		}
		if *v < 1 || *v > MaxDurationDaysLimit {
			add(field, CodeBadDuration, "%s must be between 1 and %d days", field, MaxDurationDaysLimit)
			return false
		}
		return true
	}
	okDef := days("defaultDurationDays", p.DefaultDurationDays)
	okMax := days("maxDurationDays", p.MaxDurationDays)
	if okDef && okMax && p.MaxDurationDays != nil {
		if p.DefaultDurationDays == nil {
			add("defaultDurationDays", CodeBadDuration, "an open-ended default is not allowed when maxDurationDays is set")
		} else if *p.DefaultDurationDays > *p.MaxDurationDays {
			add("defaultDurationDays", CodeBadDuration, "defaultDurationDays must not exceed maxDurationDays")
		}
	}

	switch {
	case p.LegalBasis == "":
		add("legalBasis", CodeRequired, "legalBasis is required")
	case !slices.Contains(LegalBases, p.LegalBasis):
		add("legalBasis", CodeInvalidValue, "legalBasis must be one of the LGPD art. 7 bases: %s", joinEnum(LegalBases))
	}
	switch {
	case p.RevocationRule == "":
		add("revocationRule", CodeRequired, "revocationRule is required")
	case !slices.Contains(RevocationRules, p.RevocationRule):
		add("revocationRule", CodeInvalidValue, "revocationRule must be one of %s", joinEnum(RevocationRules))
	}
	if len(fs) > 0 {
		return &ValidationError{Fields: fs}
	}
	return nil
}

// Permissions is the union of the permissions of the purpose's groups, in
// the order of consent.AllPermissions (unknown group names are ignored).
func (p Purpose) Permissions() []string {
	has := map[string]bool{}
	for _, name := range p.PermissionGroups {
		if g, ok := GroupByName(name); ok {
			for _, perm := range g.Permissions {
				has[perm] = true
			}
		}
	}
	var out []string
	for _, perm := range consent.AllPermissions {
		if has[perm] {
			out = append(out, perm)
			delete(has, perm)
		}
	}
	for perm := range has { // not in the enum; Validate reports it
		out = append(out, perm)
	}
	return out
}

// GroupByName finds a group of consent.PermissionGroups by its name.
func GroupByName(name string) (consent.PermissionGroup, bool) {
	for _, g := range consent.PermissionGroups {
		if g.Name == name {
			return g, true
		}
	}
	return consent.PermissionGroup{}, false
}

func joinEnum[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
