package fakekit

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// maxPage bounds what Approve reads of a page: the consent page and an
// OAuth callback page are a few kilobytes.
const maxPage = 1 << 20

// hiddenInput matches the hidden fields of the consent form exactly as
// consentPage renders them; Approve and the template change together.
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// Approve plays the customer's browser on a fake's consent page, so tests
// and `amp demo` can run a real OAuth connect flow without one: it opens
// authorizeURL (what an OAuth client hands the browser), submits the
// consent form with Allow, and follows the redirect to the client's
// redirect URI. It returns the URL the browser ended on (the callback, with
// code and state) and that page's body.
//
// When the authorize endpoint redirects at once (an invalid request the
// provider sends back to the client), that redirect's page is the result.
// A consent page that does not open, or a final page answering other than
// 2xx, is an error; the URL and page reached so far are returned with it,
// so the caller can show what the browser would have shown. A nil client
// means a new one with the default transport.
func Approve(ctx context.Context, client *http.Client, authorizeURL string) (callbackURL, page string, err error) {
	if client == nil {
		client = &http.Client{}
	}
	target, body, status, err := browse(ctx, client, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return "", "", fmt.Errorf("open the consent page: %w", err)
	}
	if target != authorizeURL {
		// Redirected without a consent page: the provider answered the
		// client directly.
		return target, body, pageStatus(status, target, body)
	}
	if status != http.StatusOK {
		return target, body, fmt.Errorf("consent page %s: %d %s", authorizeURL, status, snippet(body))
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if len(form) == 0 {
		return target, body, fmt.Errorf("consent page %s has no consent form: %s", authorizeURL, snippet(body))
	}
	form.Set("action", "approve")
	target, body, status, err = browse(ctx, client, http.MethodPost, authorizeURL, form)
	if err != nil {
		return "", "", fmt.Errorf("approve: %w", err)
	}
	return target, body, pageStatus(status, target, body)
}

// browse sends one request (a form post when form is not nil), follows
// redirects as the client does, and returns where it ended, the page and
// its status.
func browse(ctx context.Context, client *http.Client, method, u string, form url.Values) (final, page string, status int, err error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", "", 0, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return "", "", 0, fmt.Errorf("read %s: %w", resp.Request.URL, err)
	}
	return resp.Request.URL.String(), string(b), resp.StatusCode, nil
}

// pageStatus is the error for a final page that is not a success.
func pageStatus(status int, u, page string) error {
	if status >= 200 && status < 300 {
		return nil
	}
	return fmt.Errorf("%s answered %d: %s", u, status, snippet(page))
}

func snippet(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
