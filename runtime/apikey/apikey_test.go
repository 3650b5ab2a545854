package apikey

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 100 {
		key, hash := Generate()
		if !strings.HasPrefix(key, Prefix) || len(key) != Len {
			t.Fatalf("Generate() = %q (%d characters), want %s and %d characters", key, len(key), Prefix, Len)
		}
		if !Valid(key) {
			t.Fatalf("Valid(%q) = false", key)
		}
		if len(hash) != HashSize || !Equal(hash, Hash(key)) {
			t.Fatalf("hash = %x, want Hash(key) = %x", hash, Hash(key))
		}
		if seen[key] {
			t.Fatalf("Generate returned %q twice", key)
		}
		seen[key] = true
	}
	if want := base64.RawURLEncoding.EncodedLen(randomBytes) + len(Prefix); Len != want {
		t.Errorf("Len = %d, want %d", Len, want)
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	key := "amp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	want := sha256.Sum256([]byte(key))
	if got := Hash(key); !bytes.Equal(got, want[:]) {
		t.Errorf("Hash = %x, want SHA-256 of the whole key %x", got, want)
	}
	if bytes.Equal(Hash(key), Hash(key[:len(key)-1]+"B")) {
		t.Error("different keys hash the same")
	}
	if bytes.Contains(Hash(key), []byte(key)) {
		t.Error("hash contains the key")
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	a, b := Hash("amp_a"), Hash("amp_b")
	cases := []struct {
		x, y []byte
		want bool
	}{
		{a, a, true},
		{a, bytes.Clone(a), true},
		{a, b, false},
		{a, a[:31], false},
		{nil, a, false},
		{a, append(bytes.Clone(a), 0), false},
	}
	for i, c := range cases {
		if got := Equal(c.x, c.y); got != c.want {
			t.Errorf("case %d: Equal = %v, want %v", i, got, c.want)
		}
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	key, _ := Generate()
	for _, s := range []string{
		"",
		Prefix,
		key[len(Prefix):],                      // no prefix
		"AMP_" + key[len(Prefix):],             // wrong case
		key + "A",                              // too long
		key[:len(key)-1],                       // too short
		key[:len(key)-1] + "=",                 // padding
		key[:len(key)-1] + "+",                 // standard alphabet
		key[:len(key)-1] + "/",                 // standard alphabet
		key[:10] + " " + key[11:],              // space
		"amp_" + strings.Repeat("é", 21) + "A", // non-ASCII
	} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
	// Strict decoding: the last character must not carry stray bits.
	if Valid(Prefix + strings.Repeat("A", 42) + "B") {
		t.Error("Valid accepted a non-canonical encoding")
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	key, _ := Generate()
	got := Redact(key)
	if want := Prefix + "..." + key[len(key)-4:]; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	if strings.Contains(got, key[len(Prefix):len(key)-4]) {
		t.Errorf("Redact = %q shows more than the last 4 characters", got)
	}
	for _, s := range []string{"", "amp_", "amp_short", "sk_live_abcdefghijklmnop", "hunter2"} {
		if got := Redact(s); got != "[redacted]" {
			t.Errorf("Redact(%q) = %q, want [redacted]", s, got)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	key, _ := Generate()
	for b.Loop() {
		Hash(key)
	}
}
