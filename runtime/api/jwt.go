package api

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ampforge/amp/runtime"
)

// JWT limits. Tokens are verified with the standard library only: a compact
// JWS, its algorithm fixed by the registered key, never "none".
const (
	// maxTokenSize bounds a bearer token before any decoding.
	maxTokenSize = 8 << 10
	// jwtLeeway absorbs clock skew between the builder's signer and us.
	jwtLeeway = time.Minute
	// minRSABits refuses weak RSA keys at registration.
	minRSABits = 2048
)

// jwtClaims are the claims amp reads. exp is required; groupRef and
// consumerRef name the customer the token speaks for.
type jwtClaims struct {
	GroupRef    string       `json:"groupRef"`
	ConsumerRef string       `json:"consumerRef"`
	Exp         *json.Number `json:"exp"`
	Nbf         *json.Number `json:"nbf"`
	Iat         *json.Number `json:"iat"`
}

// tokenError is a bearer token that does not authenticate: 401 with the
// reason, which names no secret.
func tokenError(format string, args ...any) error {
	return runtime.Errorf(runtime.EUNAUTHORIZED, "bearer token: "+format, args...)
}

// jwtHeader is the JWS protected header.
type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

// splitJWT decodes a compact JWS into its header, claims bytes, signing
// input and signature, without verifying anything.
func splitJWT(token string) (jwtHeader, []byte, []byte, []byte, error) {
	var h jwtHeader
	if len(token) > maxTokenSize {
		return h, nil, nil, nil, tokenError("longer than %d bytes", maxTokenSize)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, nil, nil, nil, tokenError("not a compact JWS (want header.payload.signature)")
	}
	enc := base64.RawURLEncoding.Strict()
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return h, nil, nil, nil, tokenError("header is not base64url")
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		return h, nil, nil, nil, tokenError("payload is not base64url")
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return h, nil, nil, nil, tokenError("signature is not base64url")
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, nil, nil, tokenError("header is not a JSON object")
	}
	return h, payload, []byte(parts[0] + "." + parts[1]), sig, nil
}

// verifyJWT checks token against the key its kid names (lookup) and
// returns the claims. Every failure is a tokenError.
func verifyJWT(token string, lookup func(kid string) (*runtime.JWTKey, error), now time.Time) (*runtime.JWTKey, *jwtClaims, error) {
	h, payload, input, sig, err := splitJWT(token)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case h.Alg == "" || strings.EqualFold(h.Alg, "none"):
		return nil, nil, tokenError("alg %q is not accepted; sign with the registered key (EdDSA, ES256 or RS256)", h.Alg)
	case len(h.Crit) > 0:
		return nil, nil, tokenError("critical header extensions are not supported")
	case h.Typ != "" && !strings.EqualFold(h.Typ, "JWT"):
		return nil, nil, tokenError("typ %q is not JWT", h.Typ)
	case h.Kid == "":
		return nil, nil, tokenError("the header has no kid; set it to the id of a key registered with POST /v1/projects/{project}/jwt-keys")
	}
	key, err := lookup(h.Kid)
	if err != nil {
		return nil, nil, err
	}
	if h.Alg != key.Algorithm {
		return nil, nil, tokenError("alg %s does not match key %s, which verifies %s only", h.Alg, key.ID, key.Algorithm)
	}
	pub, err := x509.ParsePKIXPublicKey(key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("jwt key %s: parse stored key: %w", key.ID, err)
	}
	if !verifySignature(key.Algorithm, pub, input, sig) {
		return nil, nil, tokenError("the signature does not verify with key %s", key.ID)
	}
	var c jwtClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, tokenError("claims are not a JSON object with string groupRef and consumerRef")
	}
	exp, err := numericDate("exp", c.Exp, true)
	if err != nil {
		return nil, nil, err
	}
	if now.After(exp.Add(jwtLeeway)) {
		return nil, nil, tokenError("expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if nbf, err := numericDate("nbf", c.Nbf, false); err != nil {
		return nil, nil, err
	} else if !nbf.IsZero() && now.Add(jwtLeeway).Before(nbf) {
		return nil, nil, tokenError("not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	if iat, err := numericDate("iat", c.Iat, false); err != nil {
		return nil, nil, err
	} else if !iat.IsZero() && now.Add(jwtLeeway).Before(iat) {
		return nil, nil, tokenError("issued in the future (iat %s)", iat.UTC().Format(time.RFC3339))
	}
	if c.GroupRef == "" || c.ConsumerRef == "" {
		return nil, nil, tokenError("the claims groupRef and consumerRef are required")
	}
	return key, &c, nil
}

// numericDate reads a NumericDate claim (seconds since the epoch).
func numericDate(name string, n *json.Number, required bool) (time.Time, error) {
	if n == nil {
		if required {
			return time.Time{}, tokenError("the claim %s is required", name)
		}
		return time.Time{}, nil
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, tokenError("the claim %s is not a NumericDate", name)
	}
	return time.UnixMilli(int64(f * 1000)), nil
}

// verifySignature checks sig over input with pub for alg. The key's type
// was bound to alg at registration; it is checked again here.
func verifySignature(alg string, pub crypto.PublicKey, input, sig []byte) bool {
	switch alg {
	case runtime.JWTAlgEdDSA:
		k, ok := pub.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(k, input, sig)
	case runtime.JWTAlgES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() || len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, sum[:], r, s)
	case runtime.JWTAlgRS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return false
		}
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	}
	return false
}

// jwkJSON is the subset of an RFC 7517 JWK amp reads: public parts only.
type jwkJSON struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Alg string `json:"alg"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
}

// parsePublicKey reads a PEM "PUBLIC KEY" or a JWK and returns the key as
// DER SubjectPublicKeyInfo with the one algorithm it may verify. wantAlg,
// when set, must be that algorithm.
func parsePublicKey(pemText string, jwk json.RawMessage, wantAlg string) (der []byte, alg string, err error) {
	var pub crypto.PublicKey
	switch {
	case pemText != "" && len(jwk) > 0:
		return nil, "", errors.New("give either publicKeyPem or jwk, not both")
	case pemText != "":
		block, rest := pem.Decode([]byte(pemText))
		if block == nil || block.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) > 0 {
			return nil, "", errors.New(`publicKeyPem must hold one "PUBLIC KEY" PEM block (SubjectPublicKeyInfo)`)
		}
		if pub, err = x509.ParsePKIXPublicKey(block.Bytes); err != nil {
			return nil, "", fmt.Errorf("publicKeyPem: %w", err)
		}
	case len(jwk) > 0:
		if pub, err = parseJWK(jwk); err != nil {
			return nil, "", err
		}
	default:
		return nil, "", errors.New("publicKeyPem or jwk is required")
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		alg = runtime.JWTAlgEdDSA
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, "", errors.New("ECDSA keys must be on P-256 (ES256)")
		}
		alg = runtime.JWTAlgES256
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, "", fmt.Errorf("RSA keys must have at least %d bits", minRSABits)
		}
		alg = runtime.JWTAlgRS256
	default:
		return nil, "", fmt.Errorf("unsupported key type %T; use Ed25519, ECDSA P-256 or RSA", pub)
	}
	if wantAlg != "" && wantAlg != alg {
		return nil, "", fmt.Errorf("algorithm %q does not fit this key, which verifies %s", wantAlg, alg)
	}
	der, err = x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, "", fmt.Errorf("encode public key: %w", err)
	}
	return der, alg, nil
}

func parseJWK(raw json.RawMessage) (crypto.PublicKey, error) {
	var j jwkJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("jwk is not a JSON object: %w", err)
	}
	if j.D != "" {
		return nil, errors.New("jwk holds a private key (d); register the public key only")
	}
	b64 := func(name, s string) ([]byte, error) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("jwk %s is not base64url", name)
		}
		return b, nil
	}
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := b64("x", j.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("jwk x must be a 32-byte Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	case j.Kty == "EC" && j.Crv == "P-256":
		x, err := b64("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := b64("y", j.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("jwk x and y must be 32 bytes each for P-256")
		}
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("jwk: %w", err)
		}
		return k, nil
	case j.Kty == "RSA":
		n, err := b64("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := b64("e", j.E)
		if err != nil {
			return nil, err
		}
		eInt := new(big.Int).SetBytes(e)
		if !eInt.IsInt64() || eInt.Int64() < 3 || eInt.Int64() > 1<<31-1 || eInt.Bit(0) == 0 {
			return nil, errors.New("jwk e is not a valid RSA exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eInt.Int64())}, nil
	}
	return nil, fmt.Errorf("jwk kty %q (crv %q) is not supported; use OKP/Ed25519, EC/P-256 or RSA", j.Kty, j.Crv)
}
