package opendata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// pagination is what a page says about the next one.
type pagination struct {
	Next          string // links.next, "" when absent or not a string
	TotalPages    int    // meta.totalPages when readable
	HasTotalPages bool
}

// errMalformed marks a body that is not valid JSON.
var errMalformed = errors.New("body is not valid JSON")

// parsePagination extracts links.next and meta.totalPages from a page body.
// It fails only when body is not valid JSON; a body of another shape (an
// array, wrongly typed links or meta) gives an empty pagination.
func parsePagination(body []byte) (pagination, error) {
	if !json.Valid(body) {
		return pagination{}, errMalformed
	}
	var doc struct {
		Links json.RawMessage `json:"links"`
		Meta  json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return pagination{}, nil // valid JSON but not an object
	}
	var p pagination
	var links struct {
		Next json.RawMessage `json:"next"`
	}
	if json.Unmarshal(doc.Links, &links) == nil {
		var s string
		if json.Unmarshal(links.Next, &s) == nil {
			p.Next = strings.TrimSpace(s)
		}
	}
	var meta struct {
		TotalPages json.RawMessage `json:"totalPages"`
	}
	if json.Unmarshal(doc.Meta, &meta) == nil {
		if n, ok := readCount(meta.TotalPages); ok {
			p.TotalPages, p.HasTotalPages = n, true
		}
	}
	return p, nil
}

// readCount reads a non-negative integer given as a JSON number or a
// numeric string; anything else (fractions, huge values) is unreadable.
func readCount(raw json.RawMessage) (int, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return int(n), true
}

// nextURL decides the URL of the page after current (1-based number),
// or "" when the walk ends. When meta.totalPages says this is the last
// page the walk ends even if links.next is set: the published examples
// carry a placeholder next link (another host) on their only page. Else a
// relative links.next is resolved against current; without links.next,
// meta.totalPages > number gives current with page=number+1.
func nextURL(current *url.URL, number int, p pagination) (string, error) {
	if p.HasTotalPages && number >= p.TotalPages {
		return "", nil
	}
	if p.Next != "" {
		ref, err := url.Parse(p.Next)
		if err != nil {
			return "", fmt.Errorf("links.next %q is not a URL: %w", truncate(p.Next, 200), err)
		}
		u := current.ResolveReference(ref)
		u.Fragment, u.RawFragment = "", ""
		next := u.String()
		// url.Parse accepts some references (a host of stray bytes and
		// colons) whose resolved form it then refuses: no request could
		// be made of it.
		if _, err := url.Parse(next); err != nil {
			return "", fmt.Errorf("links.next %q is not a usable URL: %w", truncate(p.Next, 200), err)
		}
		return next, nil
	}
	if p.HasTotalPages && p.TotalPages > number {
		u := *current
		q := u.Query()
		q.Set("page", strconv.Itoa(number+1))
		u.RawQuery = q.Encode()
		u.Fragment, u.RawFragment = "", ""
		return u.String(), nil
	}
	return "", nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
