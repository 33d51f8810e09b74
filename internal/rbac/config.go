package rbac

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// MinBcryptCost is the lowest bcrypt cost a configured hash may have.
const MinBcryptCost = 10

// MaxConfigBytes bounds a configuration file.
const MaxConfigBytes = 1 << 20

// User is one configured user. PasswordHash is a bcrypt hash (make one with
// `htpasswd -bnBC 12 "" 'password' | tr -d ':\n'`); it is redacted whenever
// a User is printed or logged.
type User struct {
	Username     string `json:"username"`
	PasswordHash string `json:"passwordHash"`
	Roles        []Role `json:"roles"`
	// CustomerDocument is required with the customer role: the CPF (11
	// digits) or CNPJ (14 digits) the user may act for.
	CustomerDocument string `json:"customerDocument,omitempty"`
}

// String redacts the password hash.
func (u User) String() string {
	return fmt.Sprintf("{Username:%s PasswordHash:[REDACTED] Roles:%v CustomerDocument:%s}", u.Username, u.Roles, u.CustomerDocument)
}

// GoString redacts the password hash (for %#v).
func (u User) GoString() string { return "rbac.User" + u.String() }

// LogValue redacts the password hash.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", u.Username), slog.Any("roles", u.Roles))
}

var (
	_ fmt.Stringer   = User{}
	_ fmt.GoStringer = User{}
	_ slog.LogValuer = User{}
)

// Config is the users-and-roles file:
//
//	{"users": [
//	  {"username": "ana", "passwordHash": "$2a$12$...", "roles": ["admin"]},
//	  {"username": "76109277673", "passwordHash": "$2a$12$...", "roles": ["customer"],
//	   "customerDocument": "76109277673"}
//	]}
type Config struct {
	Users []User `json:"users"`
}

// ConfigError lists every problem of a configuration. Its text never
// contains a password hash.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "rbac: invalid users config: " + strings.Join(e.Problems, "; ")
}

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	documentRE = regexp.MustCompile(`^(\d{11}|\d{14})$`)
	// fieldNameRE matches a quoted JSON field name as encoding/json prints it.
	fieldNameRE = regexp.MustCompile(`^"[A-Za-z0-9_]{1,32}"$`)
)

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("rbac: open users config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("rbac: read users config %s: %w", path, err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%w (file %s)", err, path)
	}
	return c, nil
}

// ParseConfig decodes and validates a configuration: JSON with no unknown
// fields; at least one user; usernames of 1 to 64 characters from
// [A-Za-z0-9._@-], unique ignoring case; bcrypt hashes of cost
// MinBcryptCost or more; at least one known role per user and no
// duplicates; a CPF/CNPJ for, and only for, customer users. It returns a
// *ConfigError listing every problem.
func ParseConfig(b []byte) (Config, error) {
	if len(b) > MaxConfigBytes {
		return Config{}, &ConfigError{Problems: []string{fmt.Sprintf("the file is larger than %d bytes", MaxConfigBytes)}}
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, &ConfigError{Problems: []string{describeJSONError(err)}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Config{}, &ConfigError{Problems: []string{"data after the JSON document"}}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// describeJSONError says what is wrong without quoting any value.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s has the wrong JSON type (%s)", te.Field, te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// Echo the field name only when it is plainly a name, never a value
		// pasted in the wrong place.
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if fieldNameRE.MatchString(name) {
			return "unknown field " + name
		}
		return "unknown field"
	default:
		return "not a users config document"
	}
}

// Validate checks a Config (see ParseConfig for the rules).
func (c Config) Validate() error {
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }
	if len(c.Users) == 0 {
		add("users: at least one user is required")
	}
	seen := map[string]int{}
	for i, u := range c.Users {
		at := fmt.Sprintf("users[%d]", i)
		if !usernameRE.MatchString(u.Username) {
			add("%s.username: must be 1 to 64 characters from A-Z a-z 0-9 . _ @ -", at)
		} else {
			at = fmt.Sprintf("users[%d] (%s)", i, u.Username)
			if j, dup := seen[strings.ToLower(u.Username)]; dup {
				add("%s.username: same as users[%d]", at, j)
			}
			seen[strings.ToLower(u.Username)] = i
		}
		if cost, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			add("%s.passwordHash: not a bcrypt hash", at)
		} else if cost < MinBcryptCost {
			add("%s.passwordHash: bcrypt cost %d is below the minimum %d", at, cost, MinBcryptCost)
		}
		if len(u.Roles) == 0 {
			add("%s.roles: at least one role is required", at)
		}
		customer := false
		roleSeen := map[Role]bool{}
		for _, r := range u.Roles {
			if !r.Valid() {
				add("%s.roles: unknown role (valid: viewer, operator, admin, customer)", at)
				continue
			}
			if roleSeen[r] {
				add("%s.roles: %s listed twice", at, r)
			}
			roleSeen[r] = true
			customer = customer || r == RoleCustomer
		}
		switch {
		case customer && !documentRE.MatchString(u.CustomerDocument):
			add("%s.customerDocument: a customer needs a CPF (11 digits) or CNPJ (14 digits)", at)
		case !customer && u.CustomerDocument != "":
			add("%s.customerDocument: only users with the customer role have one", at)
		}
	}
	if len(ps) > 0 {
		return &ConfigError{Problems: ps}
	}
	return nil
}
