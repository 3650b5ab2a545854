package api

import (
	"context"
	"fmt"
	"net/http"
)

// Principal is the customer a request speaks for when it authenticated
// with a JWT: the token's groupRef and consumerRef. Such a request may only
// touch its own group's installations and connections; API keys carry no
// Principal and are bounded by their project alone.
type Principal struct {
	// KeyID is the registered JWT key that verified the token.
	KeyID       string
	GroupRef    string
	ConsumerRef string
}

// RequestPrincipal returns the request's Principal, or nil for an API key.
func RequestPrincipal(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalCtx).(*Principal)
	return p
}

// CheckGroup is the one group check every handler consults: nil when the
// request may touch groupRef's resources (an API key, or a JWT of that
// group), else a 403 naming both groups. Handlers call it on each
// installation, connection and connect request they act on.
func CheckGroup(ctx context.Context, groupRef string) error {
	p := RequestPrincipal(ctx)
	if p == nil || p.GroupRef == groupRef {
		return nil
	}
	return &forbiddenError{detail: fmt.Sprintf("this token acts for group %q and cannot touch group %q", p.GroupRef, groupRef)}
}

// CheckConsumer is CheckGroup for a consumerRef a request names (Ampersand's
// oauth-connect): a JWT may only name its own consumer.
func CheckConsumer(ctx context.Context, consumerRef string) error {
	p := RequestPrincipal(ctx)
	if p == nil || p.ConsumerRef == consumerRef {
		return nil
	}
	return &forbiddenError{detail: fmt.Sprintf("this token acts for consumer %q and cannot act for consumer %q", p.ConsumerRef, consumerRef)}
}

// groupFilter is the groupRef a list filters on: the query's, or the
// token's group for a JWT (a JWT naming another group is refused).
func groupFilter(ctx context.Context, query string) (string, error) {
	p := RequestPrincipal(ctx)
	if p == nil {
		return query, nil
	}
	if query != "" {
		if err := CheckGroup(ctx, query); err != nil {
			return "", err
		}
	}
	return p.GroupRef, nil
}

// AuthorizeConnect is oauth.ConnectConfig.Authorize: a JWT may start a
// connection only for its own group and consumer.
func AuthorizeConnect(r *http.Request, groupRef, consumerRef string) error {
	if err := CheckGroup(r.Context(), groupRef); err != nil {
		return err
	}
	return CheckConsumer(r.Context(), consumerRef)
}
