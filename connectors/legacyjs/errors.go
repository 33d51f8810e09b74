package legacyjs

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// Sentinels of the failure kinds; an *Error unwraps to exactly one. Every
// kind means the mapping could not produce data: the API answers 500 (see
// WriteHTTPError) and the operator fixes the script or the legacy system.
var (
	// ErrScript: the function threw, overflowed the stack, or does not exist.
	ErrScript = errors.New("legacyjs: mapping function failed")
	// ErrTimeout: the call ran past Options.Timeout (or the caller's
	// deadline) and was interrupted or abandoned.
	ErrTimeout = errors.New("legacyjs: mapping function timed out")
	// ErrMemoryLimit: the call allocated more than Options.MaxAllocBytes or
	// tried to build a string longer than Options.MaxStringLength.
	ErrMemoryLimit = errors.New("legacyjs: mapping function exceeded its memory budget")
	// ErrInput: the legacy response is not JSON or exceeds
	// Options.MaxInputBytes.
	ErrInput = errors.New("legacyjs: bad input")
	// ErrOutput: the result is not JSON-representable, exceeds
	// Options.MaxOutputBytes, or does not have the expected shape.
	ErrOutput = errors.New("legacyjs: bad output")
	// ErrInternal: the engine itself panicked (a goja bug); the VM was
	// discarded.
	ErrInternal = errors.New("legacyjs: engine failure")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("legacyjs: engine closed")
)

// Error is a failed mapping call. Detail is for logs and operators only:
// it may quote the script's message and stack, or the data, and must never
// reach an API client.
type Error struct {
	Adapter  string
	Function string
	Kind     error // one of the sentinels above
	Detail   string
	Elapsed  time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (adapter %s, function %s): %s", e.Kind, e.Adapter, e.Function, e.Detail)
}

func (e *Error) Unwrap() error { return e.Kind }

// WriteHTTPError answers a failed mapping the way a holder API must: 500
// with the spec's ResponseError body, a generic message, and nothing of the
// script, its stack or the data. The engine has already logged the details
// (one line per failed call). Errors that are not mapping errors get the
// same answer.
//
// In accounts 2.4.2 and credit-cards-accounts 2.3.1, ResponseError.meta is
// the list Meta, which requires totalRecords and totalPages besides
// requestDateTime; the body carries all three (one record, one page) so it
// validates there and wherever meta only needs requestDateTime.
func WriteHTTPError(w http.ResponseWriter, err error) {
	detail := "The institution could not read this data from its systems."
	if errors.Is(err, ErrTimeout) {
		detail = "The institution's systems did not answer in time."
	}
	body := httpx.NewErrorResponse(http.StatusInternalServerError, time.Now(), httpx.ErrorDetail{
		Code: "ERRO_INTERNO", Title: "Erro interno", Detail: detail,
	})
	w.Header().Set("Cache-Control", "no-store")
	// Strings and ints only: encoding cannot fail.
	_ = httpx.WriteJSON(w, http.StatusInternalServerError, errorBody{
		Errors: body.Errors,
		Meta:   errorMeta{TotalRecords: len(body.Errors), TotalPages: 1, RequestDateTime: body.Meta.RequestDateTime},
	})
}

type errorBody struct {
	Errors []httpx.ErrorDetail `json:"errors"`
	Meta   errorMeta           `json:"meta"`
}

type errorMeta struct {
	TotalRecords    int    `json:"totalRecords"`
	TotalPages      int    `json:"totalPages"`
	RequestDateTime string `json:"requestDateTime"`
}
