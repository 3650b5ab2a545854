package seal

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open: it must never panic, must fail with
// one of the documented errors, and must only succeed on input that opens to
// the same plaintext it was sealed from (the seeds include valid values, so
// the fuzzer mutates from there).
func FuzzOpen(f *testing.F) {
	s := mustNew(f, testKey("fuzz current"), testKey("fuzz old"))
	old := mustNew(f, testKey("fuzz old"))
	aad := AAD("default", "conn_1", "token")
	f.Add([]byte(nil), aad)
	f.Add([]byte{1}, []byte(nil))
	f.Add(make([]byte, Overhead), aad)
	f.Add(append([]byte{1}, make([]byte, 40)...), []byte("x"))
	f.Add(mustSeal(f, s, PurposeOAuthToken, []byte(`{"access_token":"a","refresh_token":"r"}`), aad), aad)
	f.Add(mustSeal(f, s, PurposeOAuthToken, nil, nil), []byte(nil))
	f.Add(mustSeal(f, old, PurposeOAuthToken, []byte("old"), aad), aad)
	f.Add(mustSeal(f, s, PurposeClientSecret, []byte("client secret"), aad), aad)

	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		pt, err := s.Open(PurposeOAuthToken, sealed, aad)
		if err != nil {
			if pt != nil {
				t.Fatalf("Open returned data with an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKeyID) && !errors.Is(err, ErrTampered) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		// Whatever opens must reseal to something that opens to the same bytes.
		again, err := s.Reseal(PurposeOAuthToken, sealed, aad)
		if err != nil {
			t.Fatalf("Reseal of an openable value: %v", err)
		}
		pt2, err := s.Open(PurposeOAuthToken, again, aad)
		if err != nil || !bytes.Equal(pt, pt2) {
			t.Fatalf("resealed value opens to %q, %v; want %q", pt2, err, pt)
		}
	})
}
