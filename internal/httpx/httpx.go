package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of ResponseError in the Open Finance specs (consents 3.3.1).
const (
	MaxErrors       = 13   // errors: maxItems
	MaxCodeLength   = 255  // errors[].code: maxLength (characters)
	MaxTitleLength  = 255  // errors[].title: maxLength (characters)
	MaxDetailLength = 2048 // errors[].detail: maxLength (characters)
)

// CodeMethodNotAllowed is the ResponseError code of a 405 in the Open
// Finance APIs.
const CodeMethodNotAllowed = "METODO_NAO_PERMITIDO"

// TimeLayout is the spec's date-time shape: RFC 3339, UTC "Z", no fraction.
const TimeLayout = "2006-01-02T15:04:05Z"

// ContentTypeJSON is the Content-Type WriteJSON and WriteError set when the
// caller has not set one.
const ContentTypeJSON = "application/json; charset=utf-8"

// ErrorDetail is one entry of ResponseError.errors.
type ErrorDetail struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// ErrorMeta is ResponseError.meta.
type ErrorMeta struct {
	RequestDateTime string `json:"requestDateTime"`
}

// ErrorResponse is the Open Finance ResponseError body. Clients and tests
// decode error answers into it.
type ErrorResponse struct {
	Errors []ErrorDetail `json:"errors"`
	Meta   ErrorMeta     `json:"meta"`
}

// FormatTime formats t in UTC as TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// WriteError answers status with a ResponseError stamped with the current
// time. See WriteErrorAt.
func WriteError(w http.ResponseWriter, status int, errs ...ErrorDetail) {
	WriteErrorAt(w, status, time.Now(), errs...)
}

// WriteErrorAt answers status with a ResponseError whose
// meta.requestDateTime is at (in UTC). Use it when the handler has its own
// clock. It sets Content-Type (ContentTypeJSON) and Cache-Control
// ("no-store") unless the caller already set them.
//
// The body always satisfies the spec: with no errs it carries one entry
// built from status; an empty Code becomes the upper-snake status text
// ("NOT_FOUND"), an empty Title http.StatusText(status), an empty Detail the
// title; entries beyond MaxErrors are dropped and over-long strings cut to
// the spec's maxLength. errs is not modified.
func WriteErrorAt(w http.ResponseWriter, status int, at time.Time, errs ...ErrorDetail) {
	body := NewErrorResponse(status, at, errs...)
	h := w.Header()
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	// Strings only: encoding cannot fail.
	_ = WriteJSON(w, status, body)
}

// NewErrorResponse builds the body WriteErrorAt writes (see there for the
// defaults and limits it applies).
func NewErrorResponse(status int, at time.Time, errs ...ErrorDetail) ErrorResponse {
	if len(errs) == 0 {
		errs = []ErrorDetail{{}}
	}
	n := min(len(errs), MaxErrors)
	out := ErrorResponse{Errors: make([]ErrorDetail, n), Meta: ErrorMeta{RequestDateTime: FormatTime(at)}}
	for i, e := range errs[:n] {
		if e.Code == "" {
			e.Code = statusCode(status)
		}
		if e.Title == "" {
			e.Title = statusText(status)
		}
		if e.Detail == "" {
			e.Detail = e.Title
		}
		out.Errors[i] = ErrorDetail{
			Code:   truncate(e.Code, MaxCodeLength),
			Title:  truncate(e.Title, MaxTitleLength),
			Detail: truncate(e.Detail, MaxDetailLength),
		}
	}
	return out
}

// WriteJSON encodes v as the body of a status answer. It sets Content-Type
// (ContentTypeJSON) unless the caller already set one, and Content-Length.
// When v cannot be encoded it writes nothing and returns the error, so the
// caller can still answer with WriteError.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("httpx: encode %T response body: %w", v, err)
	}
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", ContentTypeJSON)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // a failed write means the client went away; nothing to answer
	return nil
}

func statusText(status int) string {
	if s := http.StatusText(status); s != "" {
		return s
	}
	return "Status " + strconv.Itoa(status)
}

// statusCode turns a status into an error code: 404 → "NOT_FOUND".
func statusCode(status int) string {
	s := http.StatusText(status)
	if s == "" {
		return "HTTP_" + strconv.Itoa(status)
	}
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// truncate cuts s to at most n characters (runes), keeping valid UTF-8.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
