package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ofp-dev/ofp/internal/rbac"
)

// cliTokenFile holds the token that `ofp` commands run on the same machine
// (same user, same data dir) present to the running server's admin API,
// as a local socket's permissions would: 0600 in <data-dir>/secrets.
const cliTokenFile = "cli.token"

// cliAuth accepts the local CLI token as an operator, and otherwise asks
// next (the users file), so people use their own accounts.
type cliAuth struct {
	digest [32]byte
	next   rbac.Authenticator // may be nil
}

func newCLIAuth(dataDir string, next rbac.Authenticator) (*cliAuth, error) {
	tok, err := secretFile(filepath.Join(dataDir, "secrets"), cliTokenFile, 32)
	if err != nil {
		return nil, err
	}
	return &cliAuth{digest: sha256.Sum256([]byte(tok)), next: next}, nil
}

func (a *cliAuth) Authenticate(r *http.Request) (rbac.Principal, error) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		d := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(d[:], a.digest[:]) == 1 {
			return rbac.Principal{Username: "ofp-cli", Roles: []rbac.Role{rbac.RoleOperator}}, nil
		}
		return rbac.Principal{}, rbac.ErrBadCredentials
	}
	if a.next == nil {
		return rbac.Principal{}, rbac.ErrNoCredentials
	}
	return a.next.Authenticate(r)
}

// cliToken reads the token a running server accepts from local commands.
func cliToken(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "secrets", cliTokenFile))
	if err != nil {
		return "", errors.New("no CLI token in " + filepath.Join(dataDir, "secrets") + ": is the server using this --data-dir?")
	}
	return strings.TrimSpace(string(b)), nil
}
