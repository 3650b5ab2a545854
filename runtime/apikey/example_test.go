package apikey_test

import (
	"fmt"

	"github.com/ampforge/amp/runtime/apikey"
)

func Example() {
	key, hash := apikey.Generate() // show key once; store hash
	presented := key               // from the request's X-Api-Key header
	fmt.Println(apikey.Valid(presented), apikey.Equal(apikey.Hash(presented), hash))
	fmt.Println(apikey.Redact("amp_0123456789abcdefghijklmnopqrstuvwxyzABCQ9zA"))
	// Output:
	// true true
	// amp_...Q9zA
}
