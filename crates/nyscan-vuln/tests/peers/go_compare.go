// Differential-test peer: golang.org/x/mod/semver, the order of Go module versions.
// Reads "A<TAB>B" lines on stdin, writes "<", "=", ">" or "E reason" (semver.Compare
// ranks invalid versions below valid ones; the peer reports them instead).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<16)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		a, b, ok := strings.Cut(in.Text(), "\t")
		if !ok {
			continue
		}
		if !semver.IsValid(a) || !semver.IsValid(b) {
			fmt.Fprintln(out, "E invalid")
			continue
		}
		switch semver.Compare(a, b) {
		case -1:
			fmt.Fprintln(out, "<")
		case 1:
			fmt.Fprintln(out, ">")
		default:
			fmt.Fprintln(out, "=")
		}
	}
}
