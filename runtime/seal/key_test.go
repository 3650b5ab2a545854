package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	k := testKey("parse")
	good := map[string]string{
		"hex":            hex.EncodeToString(k),
		"hex upper":      strings.ToUpper(hex.EncodeToString(k)),
		"base64":         base64.StdEncoding.EncodeToString(k),
		"base64 raw":     base64.RawStdEncoding.EncodeToString(k),
		"base64url":      base64.URLEncoding.EncodeToString(k),
		"base64url raw":  base64.RawURLEncoding.EncodeToString(k),
		"trailing \\n":   base64.StdEncoding.EncodeToString(k) + "\n",
		"spaces":         "  " + hex.EncodeToString(k) + " \t",
		"EncodeKey form": EncodeKey(k),
	}
	for name, in := range good {
		got, err := ParseKey(in)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("%s: ParseKey = %x, %v; want %x", name, got, err, k)
		}
	}
	bad := map[string]struct{ in, want string }{
		"empty":         {"", "empty"},
		"blank":         {" \n", "empty"},
		"hex 16 bytes":  {hex.EncodeToString(k[:16]), "32 hex characters (16 bytes)"},
		"hex 31 bytes":  {hex.EncodeToString(k[:31]), "(31 bytes)"},
		"hex 33 bytes":  {hex.EncodeToString(append(bytes.Clone(k), 1)), "(33 bytes)"},
		"base64 16":     {base64.StdEncoding.EncodeToString(k[:16]), "base64 characters (16 bytes)"},
		"base64 48":     {base64.StdEncoding.EncodeToString(append(k, k[:16]...)), "(48 bytes)"},
		"passphrase":    {"correct horse battery staple!!", "neither hex nor base64"},
		"64 non-hex ch": {strings.Repeat("z", 63) + "!", "neither hex nor base64"},
	}
	for name, c := range bad {
		_, err := ParseKey(c.in)
		if err == nil {
			t.Errorf("%s: ParseKey succeeded", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q does not contain %q", name, msg, c.want)
		}
		if c.want != "empty" && !strings.Contains(msg, "32") {
			t.Errorf("%s: error %q does not say a key is 32 bytes", name, msg)
		}
		if strings.TrimSpace(c.in) != "" && strings.Contains(msg, strings.TrimSpace(c.in)) {
			t.Errorf("%s: error %q contains the input", name, msg)
		}
	}
}

func TestLoadKeyFromEnv(t *testing.T) {
	t.Parallel()
	k := testKey("env")
	dir := filepath.Join(t.TempDir(), "data")
	for _, env := range []string{hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k)} {
		got, created, err := LoadKey(env, dir)
		if err != nil || created || !bytes.Equal(got, k) {
			t.Errorf("LoadKey(env) = %x, %v, %v; want %x, false, nil", got, created, err, k)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadKey with %s set touched the data folder: %v", EnvVar, err)
	}
	_, _, err := LoadKey(hex.EncodeToString(k[:16]), dir)
	if err == nil || !strings.Contains(err.Error(), EnvVar) || !strings.Contains(err.Error(), "16 bytes") {
		t.Errorf("LoadKey(16-byte env) = %v, want an error naming %s and the length", err, EnvVar)
	}
}

func TestLoadKeyCreatesFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	key, created, err := LoadKey("", dir)
	if err != nil || !created || len(key) != KeySize {
		t.Fatalf("LoadKey on an empty folder = %d bytes, %v, %v; want a new key", len(key), created, err)
	}
	path := filepath.Join(dir, KeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", got)
		}
		if got := di.Mode().Perm(); got != 0o700 {
			t.Errorf("data folder mode = %04o, want 0700", got)
		}
	}
	data, _ := os.ReadFile(path)
	if fromFile, err := ParseKey(string(data)); err != nil || !bytes.Equal(fromFile, key) {
		t.Errorf("key file holds %x (%v), want the returned key", fromFile, err)
	}

	again, created, err := LoadKey("", dir)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Errorf("second LoadKey = %x, %v, %v; want the same key, not created", again, created, err)
	}
	if other, _, _ := LoadKey("", t.TempDir()); bytes.Equal(other, key) {
		t.Error("two data folders got the same key")
	}
}

func TestLoadKeyExistingFolderKeepsItsMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, created, err := LoadKey("", dir); err != nil || !created {
		t.Fatalf("LoadKey = %v, %v", created, err)
	}
	if di, _ := os.Stat(dir); runtime.GOOS != "windows" && di.Mode().Perm() != 0o750 {
		t.Errorf("existing folder mode changed to %04o", di.Mode().Perm())
	}
}

func TestLoadKeyRefusesLoosePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		dir := t.TempDir()
		path := filepath.Join(dir, KeyFileName)
		if err := os.WriteFile(path, []byte(EncodeKey(testKey("perm"))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		key, _, err := LoadKey("", dir)
		if !errors.Is(err, ErrInsecureKeyFile) {
			t.Fatalf("mode %04o: LoadKey = %x, %v; want ErrInsecureKeyFile", mode, key, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "chmod 600 "+path) {
			t.Errorf("mode %04o: error %q should say: chmod 600 %s", mode, msg, path)
		}
		if strings.Contains(err.Error(), EncodeKey(testKey("perm"))) {
			t.Errorf("error contains the key")
		}
	}
	// 0400 is fine: read-only for the owner.
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(testKey("ro"))), 0o400); err != nil {
		t.Fatal(err)
	}
	if key, _, err := LoadKey("", dir); err != nil || !bytes.Equal(key, testKey("ro")) {
		t.Errorf("mode 0400: LoadKey = %x, %v", key, err)
	}
}

func TestLoadKeyBadFile(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		content string
		want    string
	}{
		"empty":       {"", "is empty"},
		"short":       {hex.EncodeToString(testKey("x")[:20]), "(20 bytes)"},
		"passphrase":  {"hunter2!", "neither hex nor base64"},
		"raw 32 text": {strings.Repeat("p", 32), "32"},
	}
	for name, c := range cases {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, KeyFileName), []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, created, err := LoadKey("", dir)
		if err == nil || created || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), KeyFileName) {
			t.Errorf("%s: LoadKey = %v, %v; want an error naming the file and containing %q", name, created, err, c.want)
		}
		if c.content != "" && strings.Contains(err.Error(), c.content) {
			t.Errorf("%s: error contains the file's content", name)
		}
	}

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, KeyFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadKey("", dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("key file is a folder: LoadKey = %v", err)
	}
	if _, _, err := LoadKey("", ""); err == nil || !strings.Contains(err.Error(), EnvVar) {
		t.Errorf("no env and no folder: LoadKey = %v", err)
	}
}
