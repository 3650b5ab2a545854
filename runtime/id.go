package runtime

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// NewID returns a new random identifier: a version 4 UUID in its canonical
// lower-case text form, as Ampersand's API uses for ids.
//
// A Store fills in an empty ID on create, but a caller that must know the ID
// before the row exists creates it here: sealing binds a ciphertext to its
// row (seal.AAD(projectID, rowID, column)), so a connection's tokens are
// sealed with the connection's ID before CreateConnection.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error; the program crashes if the OS has no randomness
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// ContentHash returns the hex SHA-256 of content. It is the default
// Revision.Hash: a deploy whose hash equals the latest revision's makes no
// new revision.
func ContentHash(content []byte) string {
	h := sha256.Sum256(content)
	return hex.EncodeToString(h[:])
}

// Millis returns t truncated to the millisecond, in UTC: the precision and
// zone in which a Store keeps times. The zero time stays zero.
func Millis(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}
