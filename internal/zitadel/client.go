package zitadel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"
)

// maxResponseBytes bounds every response body read from ZITADEL (16 MiB).
const maxResponseBytes = 16 << 20

// Client sends Connect JSON calls to the user service and form posts to
// the token endpoint of one ZITADEL instance. It is safe for concurrent use.
type Client struct {
	// BaseURL is the instance URL (the issuer), without a trailing slash.
	BaseURL string
	// HTTP sends every request; its CheckRetry decides, per request, with
	// Idempotent, whether a failed attempt is sent again.
	HTTP *retryablehttp.Client
	// Bearer returns the service token for the Authorization header.
	Bearer func(ctx context.Context) (string, error)
	// UserAgent is sent on every request when set.
	UserAgent string
}

// Call posts in as JSON to the Connect path of a user-service method and
// decodes the answer into out. A non-200 answer comes back as *StatusError;
// transport failures and cancellations as the underlying error. The call is
// retried only when ctx is marked with Idempotent.
func (c *Client) Call(ctx context.Context, method string, in, out any) error {
	return c.CallService(ctx, UserServicePath, method, in, out)
}

// CallService is Call for a method of another v2 service, whose Connect
// path prefix is servicePath (e.g. SettingsServicePath).
func (c *Client) CallService(ctx context.Context, servicePath, method string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", method, err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+servicePath+method, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	if c.Bearer != nil {
		tok, err := c.Bearer(ctx)
		if err != nil {
			return fmt.Errorf("service token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	status, respBody, err := c.do(req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return ParseError(status, respBody)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return fmt.Errorf("decode %s response: %w", method, err)
	}
	return nil
}

// ClientAuth authenticates the OAuth client at the token endpoint
// (RFC 6749 §2.3): it adds form fields or headers to the request.
type ClientAuth func(ctx context.Context, form url.Values, h http.Header) error

// PostToken posts form to the token endpoint (RFC 6749 §3.2) after auth
// has added the client's credentials. An error answer comes back as
// *OAuthError. Token requests are idempotent and retried by default.
func (c *Client) PostToken(ctx context.Context, form url.Values, auth ClientAuth) (*TokenResponse, error) {
	h := http.Header{}
	if auth != nil {
		if err := auth(ctx, form, h); err != nil {
			return nil, fmt.Errorf("client authentication: %w", err)
		}
	}
	req, err := retryablehttp.NewRequestWithContext(Idempotent(ctx), http.MethodPost, c.BaseURL+PathToken, []byte(form.Encode()))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, ParseOAuthError(status, body)
	}
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("decode token response: %w", err)
	}
	if tr.AccessToken == "" {
		return nil, errors.New("token response without access_token")
	}
	return &tr, nil
}

func (c *Client) do(req *retryablehttp.Request) (int, []byte, error) {
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return 0, nil, ctxErr
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxResponseBytes {
		return 0, nil, fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	return resp.StatusCode, body, nil
}
