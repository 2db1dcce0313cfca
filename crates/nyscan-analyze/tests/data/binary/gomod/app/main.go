// Command app is the Go binary the analyzer tests build: a local module replaced by a path
// (example.com/greet), a vendored module with a release version (example.com/quote), and a
// version variable set with -ldflags -X.
package main

import (
	"fmt"
	"net/http"
	"os"

	"example.com/greet"
	"example.com/quote"
)

var version = "dev"

func main() {
	fmt.Println(greet.Hello(), quote.Go(), version)
	if len(os.Args) > 1 {
		// Links net/http in, so the binary is several MiB.
		resp, err := http.Get(os.Args[1])
		fmt.Println(resp, err)
	}
}
