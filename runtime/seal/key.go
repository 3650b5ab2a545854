package seal

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

const (
	// EnvVar is the environment variable that holds the master key.
	EnvVar = "AMP_SECRET_KEY"
	// KeyFileName is the master key's file in the data folder, used when
	// EnvVar is not set.
	KeyFileName = "secret-key"
)

// ErrInsecureKeyFile is returned by LoadKey when the key file can be read or
// written by its group or by others.
var ErrInsecureKeyFile = errors.New("secret key file is accessible by group or others")

// GenerateKey returns a new random master key.
func GenerateKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k) // never returns an error; crashes the program if the OS cannot supply randomness
	return k
}

// EncodeKey returns key in the text form that ParseKey, AMP_SECRET_KEY and
// the key file accept (standard base64).
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ParseKey decodes a master key written as 64 hex characters or as base64
// (standard or URL alphabet, padded or not) of KeySize bytes, ignoring
// surrounding white space. Errors never include the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("key is empty")
	}
	h, hexErr := hex.DecodeString(s)
	if hexErr == nil && len(h) == KeySize {
		return h, nil
	}
	var b64 []byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) == KeySize {
				return b, nil
			}
			b64 = b
			break
		}
	}
	var got string
	switch {
	case hexErr == nil:
		got = fmt.Sprintf("%d hex characters (%d bytes)", len(s), len(h))
	case b64 != nil:
		got = fmt.Sprintf("%d base64 characters (%d bytes)", len(s), len(b64))
	default:
		got = fmt.Sprintf("%d characters that are neither hex nor base64", len(s))
	}
	return nil, fmt.Errorf("key must be %d random bytes, written as 64 hex characters or 44 base64 characters (generate one with: openssl rand -base64 32); got %s", KeySize, got)
}

// LoadKey returns the master key. env is the value of AMP_SECRET_KEY (the
// caller passes os.Getenv(EnvVar)); when it is set, it is the key and dataDir
// is not touched. Otherwise the key is read from <dataDir>/secret-key, which
// must not be accessible by group or others (ErrInsecureKeyFile). When that
// file does not exist, LoadKey creates dataDir (mode 0700) if needed, writes a
// new random key to the file with mode 0600, syncs it to disk and reports
// created, so the caller can log where the key is and that it must be backed
// up separately from the database.
func LoadKey(env, dataDir string) (key []byte, created bool, err error) {
	if strings.TrimSpace(env) != "" {
		key, err := ParseKey(env)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvVar, err)
		}
		return key, false, nil
	}
	if dataDir == "" {
		return nil, false, fmt.Errorf("no secret key: set %s or give a data folder", EnvVar)
	}
	path := filepath.Join(dataDir, KeyFileName)
	key, err = readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create data folder: %w", err)
	}
	key = GenerateKey()
	if err := writeKeyFile(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			key, err = readKeyFile(path)
			return key, false, err
		}
		return nil, false, err
	}
	return key, true, nil
}

// readKeyFile reads and checks a key file. A missing file gives an error
// wrapping fs.ErrNotExist.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; its ACLs are left to the operator.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrInsecureKeyFile, path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("secret key file %s is empty (an interrupted first start?); if nothing has been stored with it, delete it and start again", path)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, nil
}

// writeKeyFile creates path with mode 0600, failing with fs.ErrExist if it
// exists, and syncs the file and its folder: a key lost in a crash after data
// was sealed with it would make that data unreadable.
func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create secret key file: %w", err)
	}
	_, err = io.WriteString(f, EncodeKey(key)+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write secret key file %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // best effort: not every platform can sync a folder
		d.Close()
	}
	return nil
}
