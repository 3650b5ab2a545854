package seal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
)

const secretValue = "ya29.super-secret-access-token"

type withExported struct {
	Name  string
	Token Secret
}

type withUnexported struct {
	name  string
	token Secret
}

func checkRedacted(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, secretValue) || strings.Contains(out, "super-secret") {
		t.Errorf("%s leaks the secret: %s", what, out)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := NewSecret(secretValue)
	ptr := &s
	exp := withExported{"conn", s}
	unexp := withUnexported{"conn", s}
	values := map[string]any{
		"value":              s,
		"pointer":            ptr,
		"exported field":     exp,
		"exported field ptr": &exp,
		"unexported field":   unexp,
		"unexported ptr":     &unexp,
		"slice":              []Secret{s, s},
		"map":                map[string]Secret{"k": s},
		"anon struct":        struct{ s Secret }{s},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%20s", "%-8v", "%T"}
	for name, v := range values {
		for _, verb := range verbs {
			checkRedacted(t, name+" "+verb, fmt.Sprintf(verb, v, v))
		}
		checkRedacted(t, name+" Sprint", fmt.Sprint(v))
		checkRedacted(t, name+" Sprintln", fmt.Sprintln(v))
		checkRedacted(t, name+" error", fmt.Errorf("refresh with %v failed: %w", v, errors.New("x")).Error())
		var buf bytes.Buffer
		log.New(&buf, "", 0).Print(v)
		checkRedacted(t, name+" log.Print", buf.String())
	}
	for _, verb := range []string{"%v", "%s", "%+v"} {
		if got := fmt.Sprintf(verb, s); got != Redacted {
			t.Errorf("Sprintf(%q) = %q, want %q", verb, got, Redacted)
		}
	}
	if got := fmt.Sprintf("%q", s); got != `"[redacted]"` {
		t.Errorf(`Sprintf("%%q") = %s`, got)
	}
	if s.String() != Redacted || s.GoString() != Redacted {
		t.Error("String/GoString do not redact")
	}
}

func TestSecretNeverLogs(t *testing.T) {
	t.Parallel()
	s := NewSecret(secretValue)
	exp := withExported{"conn", s}
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		logger := slog.New(h.new(&buf))
		logger.Info("refreshing", "token", s)
		logger.Info("refreshing", slog.Any("token", s), slog.Any("ptr", &s))
		logger.Info("refreshing", slog.Group("conn", "token", s))
		logger.With("token", s).Info("with")
		logger.Info("struct", "conn", exp, "ptr", &exp)
		logger.Info("unexported", "conn", withUnexported{"conn", s})
		logger.Info("slice", "tokens", []Secret{s})
		out := buf.String()
		checkRedacted(t, h.name+" handler", out)
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s handler output does not show %s:\n%s", h.name, Redacted, out)
		}
	}
}

func TestSecretJSON(t *testing.T) {
	t.Parallel()
	out, err := json.Marshal(withExported{"conn", NewSecret(secretValue)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Name":"conn","Token":"[redacted]"}`; string(out) != want {
		t.Errorf("json.Marshal = %s, want %s", out, want)
	}

	var in withExported
	if err := json.Unmarshal([]byte(`{"Token":"`+secretValue+`"}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.Token.Reveal() != secretValue {
		t.Errorf("decoded Reveal() = %q", in.Token.Reveal())
	}
	if err := json.Unmarshal([]byte(`{"Token":null}`), &in); err != nil || !in.Token.IsZero() {
		t.Errorf("null: %v, zero=%v", err, in.Token.IsZero())
	}
	if err := json.Unmarshal([]byte(`{"Token":42}`), &in); err == nil {
		t.Error("a number decoded as a Secret")
	}
	text, _ := NewSecret(secretValue).MarshalText()
	checkRedacted(t, "MarshalText", string(text))
}

func TestSecretReveal(t *testing.T) {
	t.Parallel()
	var zero Secret
	if zero.Reveal() != "" || !zero.IsZero() || fmt.Sprint(zero) != Redacted {
		t.Error("zero Secret")
	}
	if NewSecret("").IsZero() != true || NewSecret("x").IsZero() {
		t.Error("IsZero")
	}
	if NewSecret(secretValue).Reveal() != secretValue {
		t.Error("Reveal")
	}
}
