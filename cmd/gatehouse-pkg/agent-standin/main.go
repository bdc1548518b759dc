// Command agent-standin is what a macOS package built without a Mac
// carries in place of gatehouse-agent, which needs cgo and the macOS SDK
// (Wails): a real Mach-O, so it is signed like the rest, that says what
// it is and exits.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "gatehouse-agent: this package was built without a Mac, and this is a stand-in for the agent (Wails, cgo), which is built on one: gatehouse-pkg pkg --agent PATH (docs/packaging.md)")
	os.Exit(1)
}
