package seal_test

import (
	"fmt"
	"log"

	"github.com/ampforge/amp/runtime/seal"
)

func Example() {
	key := seal.GenerateKey() // in amp serve: seal.LoadKey(os.Getenv(seal.EnvVar), dataDir)
	s, err := seal.New(key)
	if err != nil {
		log.Fatal(err)
	}
	// Bind the value to where it is stored: project, row and column.
	aad := seal.AAD("default", "conn_123", "refresh_token")
	sealed, err := s.Seal(seal.PurposeOAuthToken, []byte("refresh-token"), aad)
	if err != nil {
		log.Fatal(err)
	}
	plaintext, err := s.Open(seal.PurposeOAuthToken, sealed, aad)
	if err != nil {
		log.Fatal(err)
	}
	token := seal.NewSecret(string(plaintext))
	fmt.Println(len(sealed)-len(plaintext), token)
	// Output: 33 [redacted]
}
