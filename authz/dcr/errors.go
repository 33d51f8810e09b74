package dcr

import (
	"encoding/json"
	"net/http"
)

// RFC 7591 §3.2.2 / dcr-dcm-2.0.1 error codes, plus the RFC 6750 code used
// for a bad registration access token.
const (
	CodeInvalidRedirectURI          = "invalid_redirect_uri"
	CodeInvalidClientMetadata       = "invalid_client_metadata"
	CodeInvalidSoftwareStatement    = "invalid_software_statement"
	CodeUnapprovedSoftwareStatement = "unapproved_software_statement"
	CodeInvalidWebhookURIs          = "invalid_webhook_uris"
	CodeInvalidToken                = "invalid_token"
	CodeAccessDenied                = "access_denied"
	CodeServerError                 = "server_error"
)

// Error is a registration error as sent to the client: HTTP status and the
// RFC 7591 body. Descriptions never carry secrets or internal errors.
type Error struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *Error) Error() string { return "dcr: " + e.Code + ": " + e.Description }

func errMetadata(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidClientMetadata, Description: desc}
}
func errRedirect(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRedirectURI, Description: desc}
}
func errInvalidStatement(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidSoftwareStatement, Description: desc}
}
func errUnapproved(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeUnapprovedSoftwareStatement, Description: desc}
}
func errWebhook(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidWebhookURIs, Description: desc}
}

var errBadToken = &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken,
	Description: "registration access token missing, invalid, or not for this client"}

func writeError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
