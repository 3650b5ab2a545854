package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
)

// testKey returns a fixed key derived from label, so failures reproduce.
func testKey(label string) []byte {
	k := sha256.Sum256([]byte(label))
	return k[:]
}

func mustNew(t testing.TB, current []byte, old ...[]byte) *Sealer {
	t.Helper()
	s, err := New(current, old...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mustSeal(t testing.TB, s *Sealer, purpose string, pt, aad []byte) []byte {
	t.Helper()
	b, err := s.Seal(purpose, pt, aad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return b
}

var allPurposes = []string{PurposeOAuthToken, PurposeClientSecret, PurposeWebhookSecret, PurposePKCEVerifier}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testKey("k1"))
	plaintexts := map[string][]byte{
		"empty":  {},
		"nil":    nil,
		"short":  []byte("s3cr3t"),
		"binary": {0, 1, 2, 0xff, 0xfe, 0},
		"2KB":    bytes.Repeat([]byte("token-"), 2048/6),
	}
	aads := map[string][]byte{
		"nil": nil,
		"row": AAD("default", "conn_123", "access_token"),
	}
	for _, purpose := range allPurposes {
		for pname, pt := range plaintexts {
			for aname, aad := range aads {
				t.Run(purpose+"/"+pname+"/"+aname, func(t *testing.T) {
					sealed := mustSeal(t, s, purpose, pt, aad)
					if got, want := len(sealed), len(pt)+Overhead; got != want {
						t.Errorf("sealed length = %d, want %d", got, want)
					}
					if sealed[0] != version1 || hex.EncodeToString(sealed[1:5]) != s.KeyID() {
						t.Errorf("header = %x, want version 1 and key id %s", sealed[:5], s.KeyID())
					}
					if len(pt) >= 4 && bytes.Contains(sealed, pt) {
						t.Errorf("sealed value contains the plaintext")
					}
					got, err := s.Open(purpose, sealed, aad)
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					if !bytes.Equal(got, pt) || got == nil {
						t.Errorf("Open = %q, want %q (non-nil)", got, pt)
					}
				})
			}
		}
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testKey("k1"))
	a := mustSeal(t, s, PurposeOAuthToken, []byte("same"), nil)
	b := mustSeal(t, s, PurposeOAuthToken, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal; the nonce must be random")
	}
}

// TestGoldenVector pins the stored format: the key id, HKDF salt and info,
// header and associated data layout. If it fails, existing databases can no
// longer be opened; add a new version instead of changing version 1.
func TestGoldenVector(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testKey("amp seal test key 1"))
	if got, want := s.KeyID(), "d6e54c75"; got != want {
		t.Errorf("KeyID = %s, want %s", got, want)
	}
	sealed, _ := hex.DecodeString("01d6e54c75a754ff8afc3ba16205633959c70e680e54fcb28ca75a4bee835c33b5c99e3592db4fd5f16154bc118d3d4df28d60bcd9732503c095")
	got, err := s.Open(PurposeOAuthToken, sealed, AAD("default", "conn_1", "token"))
	if err != nil {
		t.Fatalf("Open golden vector: %v", err)
	}
	if want := `{"access_token":"golden"}`; string(got) != want {
		t.Errorf("Open = %q, want %q", got, want)
	}
}

func TestOpenWrongContext(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testKey("k1"))
	pt := []byte("refresh-token-value")
	aad := AAD("proj_a", "conn_1", "refresh_token")
	sealed := mustSeal(t, s, PurposeOAuthToken, pt, aad)
	cases := map[string]struct {
		purpose string
		aad     []byte
	}{
		"other project":  {PurposeOAuthToken, AAD("proj_b", "conn_1", "refresh_token")},
		"other row":      {PurposeOAuthToken, AAD("proj_a", "conn_2", "refresh_token")},
		"other column":   {PurposeOAuthToken, AAD("proj_a", "conn_1", "access_token")},
		"no aad":         {PurposeOAuthToken, nil},
		"extra aad part": {PurposeOAuthToken, AAD("proj_a", "conn_1", "refresh_token", "")},
		"other purpose":  {PurposeClientSecret, aad},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := s.Open(c.purpose, sealed, c.aad)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("Open = %q, %v; want ErrTampered", got, err)
			}
			if got != nil {
				t.Errorf("Open returned data with an error: %q", got)
			}
			if strings.Contains(err.Error(), string(pt)) {
				t.Errorf("error contains the plaintext: %v", err)
			}
		})
	}
}

func TestAADIsUnambiguous(t *testing.T) {
	t.Parallel()
	pairs := [][2][]byte{
		{AAD("a|b", "c"), AAD("a", "b|c")},
		{AAD("ab", "c"), AAD("a", "bc")},
		{AAD("", "a"), AAD("a", "")},
		{AAD("a"), AAD("a", "")},
		{AAD(), AAD("")},
	}
	for i, p := range pairs {
		if bytes.Equal(p[0], p[1]) {
			t.Errorf("pair %d: AAD encodings collide: %x", i, p[0])
		}
	}
	if got, want := AAD("ab", ""), []byte{2, 'a', 'b', 0}; !bytes.Equal(got, want) {
		t.Errorf("AAD(ab, \"\") = %x, want %x", got, want)
	}
}

// TestTamperAnyByte flips each bit of every byte, truncates to every length
// and appends a byte: every change must fail to open, with the error that
// names the damaged part.
func TestTamperAnyByte(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testKey("k1"))
	aad := AAD("p", "r", "c")
	sealed := mustSeal(t, s, PurposeWebhookSecret, []byte("whsec_abcdefghijklmnop"), aad)
	for i := range sealed {
		for bit := range 8 {
			b := bytes.Clone(sealed)
			b[i] ^= 1 << bit
			_, err := s.Open(PurposeWebhookSecret, b, aad)
			var want error
			switch {
			case i == 0:
				want = ErrMalformed
			case i < headerLen:
				want = ErrUnknownKeyID
			default:
				want = ErrTampered
			}
			if !errors.Is(err, want) {
				t.Fatalf("byte %d bit %d flipped: err = %v, want %v", i, bit, err, want)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := s.Open(PurposeWebhookSecret, sealed[:n], aad); err == nil {
			t.Fatalf("truncated to %d bytes: Open succeeded", n)
		}
	}
	if _, err := s.Open(PurposeWebhookSecret, append(bytes.Clone(sealed), 0), aad); !errors.Is(err, ErrTampered) {
		t.Fatalf("appended byte: err = %v, want ErrTampered", err)
	}
}

func TestUnknownKeyID(t *testing.T) {
	t.Parallel()
	a := mustNew(t, testKey("k1"))
	b := mustNew(t, testKey("k2"))
	pt := []byte("client-secret-xyz")
	sealed := mustSeal(t, a, PurposeClientSecret, pt, nil)
	got, err := b.Open(PurposeClientSecret, sealed, nil)
	if !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("Open with another key = %q, %v; want ErrUnknownKeyID", got, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, a.KeyID()) || !strings.Contains(msg, EnvVar) {
		t.Errorf("error %q should name key id %s and %s", msg, a.KeyID(), EnvVar)
	}
	if strings.Contains(msg, string(pt)) || strings.Contains(msg, hex.EncodeToString(sealed[headerLen:])) {
		t.Errorf("error %q leaks the plaintext or the sealed bytes", msg)
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testKey("k1"))
	for name, in := range map[string][]byte{
		"nil":         nil,
		"short":       {1, 2, 3},
		"version 0":   make([]byte, 64),
		"version 2":   append([]byte{2}, make([]byte, 63)...),
		"header only": {1, 0, 0, 0, 0},
	} {
		if _, err := s.Open(PurposeOAuthToken, in, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := s.Seal("", []byte("x"), nil); err == nil {
		t.Error("Seal with an empty purpose succeeded")
	}
	if _, err := s.Open("", mustSeal(t, s, PurposeOAuthToken, nil, nil), nil); err == nil {
		t.Error("Open with an empty purpose succeeded")
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := testKey("k1"), testKey("k2"), testKey("k3")
	before := mustNew(t, k1)
	aad := AAD("default", "conn_9", "token")
	pt := []byte("access-token-before-rotation")
	oldSealed := mustSeal(t, before, PurposeOAuthToken, pt, aad)

	after := mustNew(t, k2, k3, k1)
	if after.KeyID() == before.KeyID() {
		t.Fatal("key ids of different keys are equal")
	}
	got, err := after.Open(PurposeOAuthToken, oldSealed, aad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("old key: Open = %q, %v; want %q", got, err, pt)
	}
	if !after.NeedsReseal(oldSealed) {
		t.Error("NeedsReseal(value under old key) = false")
	}

	resealed, err := after.Reseal(PurposeOAuthToken, oldSealed, aad)
	if err != nil {
		t.Fatalf("Reseal: %v", err)
	}
	if after.NeedsReseal(resealed) {
		t.Error("NeedsReseal(resealed) = true")
	}
	if hex.EncodeToString(resealed[1:5]) != after.KeyID() {
		t.Errorf("resealed key id = %x, want %s", resealed[1:5], after.KeyID())
	}
	// The new key alone opens it; the old key alone no longer does.
	if got, err := mustNew(t, k2).Open(PurposeOAuthToken, resealed, aad); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("new key only: Open = %q, %v", got, err)
	}
	if _, err := before.Open(PurposeOAuthToken, resealed, aad); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("old key only: err = %v, want ErrUnknownKeyID", err)
	}

	// Reseal of a current value returns it unchanged, after checking it.
	same, err := after.Reseal(PurposeOAuthToken, resealed, aad)
	if err != nil || !bytes.Equal(same, resealed) {
		t.Errorf("Reseal(current) = %x, %v; want the input", same, err)
	}
	// Reseal checks the associated data like Open.
	if _, err := after.Reseal(PurposeOAuthToken, oldSealed, AAD("default", "conn_10", "token")); !errors.Is(err, ErrTampered) {
		t.Errorf("Reseal with other aad: err = %v, want ErrTampered", err)
	}
	if _, err := after.Reseal(PurposeOAuthToken, mustSeal(t, mustNew(t, testKey("k4")), PurposeOAuthToken, pt, aad), aad); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("Reseal of a value under an unknown key: err = %v, want ErrUnknownKeyID", err)
	}
	if !after.NeedsReseal(nil) || !after.NeedsReseal([]byte{9, 9, 9, 9, 9}) {
		t.Error("NeedsReseal(malformed) = false")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	k := testKey("k1")
	for _, bad := range [][]byte{nil, k[:16], append(bytes.Clone(k), 0)} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%d-byte key) succeeded", len(bad))
		}
		if _, err := New(k, bad); err == nil || !strings.Contains(err.Error(), "old key 1") {
			t.Errorf("New(k, %d-byte old key) = %v, want an error naming old key 1", len(bad), err)
		}
	}
	// The same key listed twice, or as current and old, is accepted.
	if _, err := New(k, k, testKey("k2"), testKey("k2")); err != nil {
		t.Errorf("New with repeated keys: %v", err)
	}
	// Keys are copied: changing the caller's slice changes nothing.
	buf := bytes.Clone(k)
	s := mustNew(t, buf)
	sealed := mustSeal(t, s, PurposeOAuthToken, []byte("x"), nil)
	clear(buf)
	if _, err := s.Open(PurposeOAuthToken, sealed, nil); err != nil {
		t.Errorf("Open after the caller cleared its key slice: %v", err)
	}
}

// TestNewKeyIDCollision finds two keys with the same 4-byte id (a birthday
// search over about 2^16 keys) and checks that New refuses them.
func TestNewKeyIDCollision(t *testing.T) {
	t.Parallel()
	seen := make(map[[keyIDSize]byte][]byte)
	var a, b []byte
	for i := uint64(0); a == nil; i++ {
		k := make([]byte, KeySize)
		binary.BigEndian.PutUint64(k, i)
		id := keyID(k)
		if prev, ok := seen[id]; ok {
			a, b = prev, k
		}
		seen[id] = k
	}
	if _, err := New(a, b); err == nil || !strings.Contains(err.Error(), "same key id") {
		t.Errorf("New with colliding key ids = %v, want a collision error", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := mustNew(t, testKey("k2"), testKey("k1"))
	old := mustNew(t, testKey("k1"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			purpose := allPurposes[g%len(allPurposes)]
			for i := range 50 {
				aad := AAD("p", "row", string(rune('a'+i%26)))
				pt := []byte("value")
				for _, sealer := range []*Sealer{s, old} {
					sealed, err := sealer.Seal(purpose, pt, aad)
					if err != nil {
						t.Error(err)
						return
					}
					if got, err := s.Open(purpose, sealed, aad); err != nil || !bytes.Equal(got, pt) {
						t.Errorf("Open = %q, %v", got, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSeal2KB(b *testing.B) {
	s := mustNew(b, testKey("bench"))
	pt := bytes.Repeat([]byte{'t'}, 2048)
	aad := AAD("default", "conn_123", "token")
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(PurposeOAuthToken, pt, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen2KB(b *testing.B) {
	s := mustNew(b, testKey("bench"))
	pt := bytes.Repeat([]byte{'t'}, 2048)
	aad := AAD("default", "conn_123", "token")
	sealed := mustSeal(b, s, PurposeOAuthToken, pt, aad)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(PurposeOAuthToken, sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}
