// Package apikey generates API keys and hashes them for storage.
//
// A key is "amp_" followed by 43 base64url characters (32 random bytes). The
// server shows it once, stores only Hash(key), and finds the key of a request
// by looking up the hash. The prefix makes keys recognisable to people and to
// secret scanners, and lets Redact show which key is meant without
// revealing it.
//
// This package uses only the standard library and must not import other amp
// packages.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

const (
	// Prefix starts every API key.
	Prefix = "amp_"
	// randomBytes is the entropy of a key: 256 bits.
	randomBytes = 32
	// Len is the length of a key in characters.
	Len = len(Prefix) + 43 // base64.RawURLEncoding.EncodedLen(randomBytes)
	// HashSize is the length of Hash's result.
	HashSize = sha256.Size
)

// Generate returns a new API key and its hash. Show plaintext to the user
// once and store only hash.
func Generate() (plaintext string, hash []byte) {
	b := make([]byte, randomBytes)
	rand.Read(b) // never returns an error; crashes the program if the OS cannot supply randomness
	plaintext = Prefix + base64.RawURLEncoding.EncodeToString(b)
	return plaintext, Hash(plaintext)
}

// Hash returns the SHA-256 of the whole key, which is what the store keeps.
//
// A plain fast hash is right here, unlike for passwords: password hashing
// (bcrypt, scrypt, Argon2) is slow and salted because people choose guessable
// passwords, and each guess must be made expensive. A generated key has 256
// random bits, so there is nothing to guess: finding a key from its hash means
// inverting SHA-256. An unsalted, deterministic hash also lets the server find
// a request's key with one indexed lookup instead of trying every stored key.
func Hash(plaintext string) []byte {
	h := sha256.Sum256([]byte(plaintext))
	return h[:]
}

// Equal reports whether two hashes are equal, in time that does not depend on
// their contents.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Valid reports whether s has the shape of an API key (the prefix, then 43
// base64url characters encoding 32 bytes). The server rejects malformed keys
// with it before any lookup. It says nothing about whether the key exists.
func Valid(s string) bool {
	body, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(s) != Len {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(body)
	return err == nil && len(b) == randomBytes
}

// Redact returns the key's prefix and its last 4 characters ("amp_...Xy9z"),
// enough to tell keys apart in logs and lists. The 4 characters reveal 24 of
// the key's 256 bits. Anything that is not shaped like a key gives
// "[redacted]", since it may be some other secret pasted by mistake.
func Redact(key string) string {
	if !Valid(key) {
		return "[redacted]"
	}
	return Prefix + "..." + key[len(key)-4:]
}
