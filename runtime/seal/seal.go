package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// Purposes name what a sealed value is. Each purpose gets its own key derived
// from the master key, so a value sealed for one purpose never opens as
// another. Use these constants (each purpose keeps a derived key in memory).
// A purpose is part of the stored format: never change the string
// of an existing purpose; add a new one (".../v2") instead.
const (
	PurposeOAuthToken    = "amp/oauth-token/v1"
	PurposeClientSecret  = "amp/client-secret/v1"
	PurposeWebhookSecret = "amp/webhook-secret/v1"
	PurposePKCEVerifier  = "amp/pkce-verifier/v1"
)

// KeySize is the length in bytes of a master key.
const KeySize = 32

const (
	// version1 is AES-256-GCM with a random 96-bit nonce, under a key derived
	// with HKDF-SHA256 from the master key, salt hkdfSalt and the purpose as
	// info; the GCM associated data is the 5-byte header followed by the
	// caller's associated data.
	version1  = 1
	keyIDSize = 4
	headerLen = 1 + keyIDSize
	// gcmOverhead is the random nonce (12 bytes) plus the tag (16 bytes).
	gcmOverhead = 12 + 16
	// Overhead is how many bytes Seal adds to a plaintext.
	Overhead = headerLen + gcmOverhead
)

// hkdfSalt is a fixed, public salt. The master key is already uniformly
// random, so HKDF needs no secret or per-key salt; a fixed value only
// separates these derivations from any other use of the same key material.
var hkdfSalt = []byte("amp/seal/hkdf-salt/v1")

// Errors returned by Open and Reseal, to be tested with errors.Is. Their
// messages name the purpose and key id, never the plaintext or the sealed
// bytes.
var (
	// ErrUnknownKeyID means the value was sealed under a master key this
	// Sealer does not hold. This is what a wrong key looks like: a different
	// AMP_SECRET_KEY or secret-key file than the one used to seal, or an old
	// key that was dropped before every row was resealed.
	ErrUnknownKeyID = errors.New("sealed under a key this server does not hold (wrong AMP_SECRET_KEY or secret-key file, or a rotated-out key)")
	// ErrTampered means authentication failed under a key this Sealer holds:
	// the sealed bytes were modified, or they were opened with other
	// associated data (another project, row or column) or another purpose.
	ErrTampered = errors.New("authentication failed: sealed value was modified, or belongs to another row, column or purpose")
	// ErrMalformed means the input is too short to be a sealed value or has
	// an unknown format version.
	ErrMalformed = errors.New("not a sealed value")
)

// errEmptyPurpose is returned when the purpose is empty.
var errEmptyPurpose = errors.New("seal: empty purpose")

// A Sealer seals values under its current master key and opens values sealed
// under the current key or any of its old keys. It is safe for concurrent
// use.
type Sealer struct {
	current *masterKey
	keys    map[[keyIDSize]byte]*masterKey
}

// masterKey is one master key with its per-purpose AEADs, derived on first use.
type masterKey struct {
	id     [keyIDSize]byte
	secret []byte
	aeads  sync.Map // purpose string -> cipher.AEAD
}

// New returns a Sealer that seals under current and opens values sealed under
// current or any key in old. Every key must be KeySize bytes. A key listed
// twice (or also as current) is accepted once. The keys are copied.
func New(current []byte, old ...[]byte) (*Sealer, error) {
	if len(current) != KeySize {
		return nil, fmt.Errorf("seal: current key is %d bytes, want %d", len(current), KeySize)
	}
	s := &Sealer{keys: make(map[[keyIDSize]byte]*masterKey, 1+len(old))}
	s.current = s.add(current)
	for i, k := range old {
		if len(k) != KeySize {
			return nil, fmt.Errorf("seal: old key %d is %d bytes, want %d", i+1, len(k), KeySize)
		}
		id := keyID(k)
		if have, ok := s.keys[id]; ok {
			if subtle.ConstantTimeCompare(have.secret, k) == 1 {
				continue
			}
			return nil, fmt.Errorf("seal: old key %d has the same key id (%x) as another key; generate a new key", i+1, id)
		}
		s.add(k)
	}
	return s, nil
}

func (s *Sealer) add(k []byte) *masterKey {
	mk := &masterKey{id: keyID(k), secret: append([]byte(nil), k...)}
	s.keys[mk.id] = mk
	return mk
}

// keyID names a master key in sealed values: the first bytes of a
// domain-separated SHA-256 of the key. Four bytes reveal nothing useful
// about a 256-bit random key and tell keys apart during a rotation.
func keyID(k []byte) [keyIDSize]byte {
	h := sha256.New()
	h.Write([]byte("amp/seal/key-id/v1\x00"))
	h.Write(k)
	var id [keyIDSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

// KeyID returns the id of the current key in hex, for logs and status pages.
func (s *Sealer) KeyID() string { return hex.EncodeToString(s.current.id[:]) }

// aead returns the AEAD for purpose under mk, deriving it on first use.
func (mk *masterKey) aead(purpose string) (cipher.AEAD, error) {
	if a, ok := mk.aeads.Load(purpose); ok {
		return a.(cipher.AEAD), nil
	}
	k, err := hkdf.Key(sha256.New, mk.secret, hkdfSalt, purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	a, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	actual, _ := mk.aeads.LoadOrStore(purpose, a)
	return actual.(cipher.AEAD), nil
}

// Seal encrypts plaintext for purpose under the current key and binds it to
// aad, which should say where the value will be stored (see AAD); Open must be
// given the same purpose and aad. The result is Overhead bytes longer than
// plaintext. Under one key, seal at most 2^32 values per purpose (a limit of
// random 96-bit nonces); rotate long before that.
func (s *Sealer) Seal(purpose string, plaintext, aad []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errEmptyPurpose
	}
	a, err := s.current.aead(purpose)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerLen, headerLen+len(plaintext)+gcmOverhead)
	out[0] = version1
	copy(out[1:], s.current.id[:])
	return a.Seal(out, nil, plaintext, additionalData(out[:headerLen], aad)), nil
}

// Open decrypts a value sealed by Seal with the same purpose and aad, under
// the current key or an old one. Errors wrap ErrMalformed, ErrUnknownKeyID or
// ErrTampered.
func (s *Sealer) Open(purpose string, sealed, aad []byte) ([]byte, error) {
	pt, _, err := s.open(purpose, sealed, aad)
	return pt, err
}

func (s *Sealer) open(purpose string, sealed, aad []byte) ([]byte, *masterKey, error) {
	if purpose == "" {
		return nil, nil, errEmptyPurpose
	}
	if len(sealed) < Overhead {
		return nil, nil, fmt.Errorf("seal: open %s: %w (%d bytes, need at least %d)", purpose, ErrMalformed, len(sealed), Overhead)
	}
	if sealed[0] != version1 {
		return nil, nil, fmt.Errorf("seal: open %s: %w (unknown format version %d)", purpose, ErrMalformed, sealed[0])
	}
	id := [keyIDSize]byte(sealed[1:headerLen])
	mk, ok := s.keys[id]
	if !ok {
		return nil, nil, fmt.Errorf("seal: open %s: key id %x: %w", purpose, id, ErrUnknownKeyID)
	}
	a, err := mk.aead(purpose)
	if err != nil {
		return nil, nil, err
	}
	pt, err := a.Open(nil, nil, sealed[headerLen:], additionalData(sealed[:headerLen], aad))
	if err != nil {
		return nil, nil, fmt.Errorf("seal: open %s: key id %x: %w", purpose, id, ErrTampered)
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, mk, nil
}

// Reseal opens sealed and, unless it is already under the current key,
// seals its plaintext again under the current key with the same purpose and
// aad. A value already under the current key is returned as it is (after
// checking that it opens), so a caller can skip the write when the result is
// the input. Errors are those of Open.
func (s *Sealer) Reseal(purpose string, sealed, aad []byte) ([]byte, error) {
	pt, mk, err := s.open(purpose, sealed, aad)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	if mk == s.current {
		return sealed, nil
	}
	return s.Seal(purpose, pt, aad)
}

// NeedsReseal reports whether sealed is not under the current key (or not in
// the current format), without authenticating it. A rotation job selects rows
// with it and passes them to Reseal.
func (s *Sealer) NeedsReseal(sealed []byte) bool {
	if len(sealed) < headerLen || sealed[0] != version1 {
		return true
	}
	return [keyIDSize]byte(sealed[1:headerLen]) != s.current.id
}

// additionalData is the GCM associated data: the header, so the version and
// key id cannot be changed, then the caller's associated data.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}

// AAD encodes the parts that locate a sealed value, typically
// (projectID, rowID, column), as associated data for Seal and Open. Each part
// is length-prefixed, so different splits of the same characters
// ("a|b", "c" and "a", "b|c") never give the same bytes.
func AAD(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}
