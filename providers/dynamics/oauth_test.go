package dynamics

import (
	"strings"
	"testing"
)

// The organisation name is typed by the customer and lands in the scope's
// host: only a host-name label is accepted.
func TestOAuthConfigRefusesWorkspaceThatIsNotALabel(t *testing.T) {
	t.Parallel()
	for _, ws := range []string{"contoso", "Contoso-EU", "org1"} {
		if _, err := OAuthConfig("app", "s", "https://amp.example/cb", map[string]string{"workspace": ws}, nil); err != nil {
			t.Errorf("workspace %q: %v", ws, err)
		}
	}
	for _, ws := range []string{"attacker.example/x", "evil.com#", "contoso.crm.dynamics.com.attacker.example", "a/b", "a:8443", "user@host", "-contoso", "contoso-", strings.Repeat("a", 64), "con toso"} {
		cfg, err := OAuthConfig("app", "s", "https://amp.example/cb", map[string]string{"workspace": ws}, nil)
		if err == nil || cfg != nil {
			t.Errorf("workspace %q accepted: %+v", ws, cfg)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://contoso.crm.dynamics.com", "https://contoso.crm4.dynamics.com/api/data/v9.2/"} {
		if err := CheckBaseURL(ok); err != nil {
			t.Errorf("CheckBaseURL(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"http://contoso.crm.dynamics.com", "https://attacker.example", "https://dynamics.com.attacker.example", "https://contoso.crm.dynamics.com:8443", "https://evildynamics.com"} {
		if err := CheckBaseURL(bad); err == nil {
			t.Errorf("CheckBaseURL(%q) accepted", bad)
		}
	}
}
