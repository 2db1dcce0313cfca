// Package quote is a vendored dependency with a release version.
package quote

// Go returns a proverb.
func Go() string { return "Don't communicate by sharing memory, share memory by communicating." }
