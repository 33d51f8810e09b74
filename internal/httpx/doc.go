// Package httpx is shared HTTP plumbing for the ofp servers: writing JSON
// responses and the Open Finance Brasil error body.
//
// It owns the wire shape of ResponseError (consents 3.3.1
// components.schemas.ResponseError):
//
//	{"errors":[{"code":"…","title":"…","detail":"…"}],"meta":{"requestDateTime":"2026-05-04T03:02:01Z"}}
//
// with 1 to MaxErrors entries, code and title of at most 255 characters,
// detail of at most 2048, and requestDateTime in UTC RFC 3339 without
// fraction.
//
// It never holds business logic: it does not choose error codes, titles or
// status codes for a domain, never logs, and never reads a request. Callers
// decide what to answer; httpx only writes it.
package httpx
