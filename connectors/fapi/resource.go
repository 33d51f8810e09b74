package fapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Get calls a regulated API with an access token over the client's mTLS
// connection (the token is bound to its certificate), sending
// x-fapi-interaction-id. A 2xx answer returns the body; any other is an
// *APIError, returned beside the Response.
func (c *Client) Get(ctx context.Context, token, url string) (*Response, error) {
	return c.Do(ctx, http.MethodGet, url, token, nil, nil)
}

// Do is Get for any method; body, when not nil, is sent as JSON. header
// adds request headers (x-fapi-auth-date, x-fapi-customer-ip-address,
// x-customer-user-agent when the customer is present).
func (c *Client) Do(ctx context.Context, method, url, token string, body []byte, header http.Header) (*Response, error) {
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	resp, err := c.send(ctx, method, url, ct, body, token, header)
	if err != nil {
		return nil, fmt.Errorf("fapi: %s %s: %w", method, url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, apiError(method, url, resp)
	}
	return resp, nil
}

// GetJSON is Get decoding a JSON answer into v.
func (c *Client) GetJSON(ctx context.Context, token, url string, v any) error {
	resp, err := c.Get(ctx, token, url)
	if err != nil {
		return err
	}
	if !isJSON(resp.Header) {
		return fmt.Errorf("%w: GET %s: %w (Content-Type %q)", ErrUnexpectedResponse, url, errNoJSON, resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrUnexpectedResponse, url, err)
	}
	return nil
}
