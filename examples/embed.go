// Package examples holds the example policy that ships with Gatehouse, so
// binaries can offer it without a file on disk.
package examples

import _ "embed"

// PolicyName is the name the embedded example is reported under.
const PolicyName = "examples/policy.yaml"

// Policy is the text of examples/policy.yaml.
//
//go:embed policy.yaml
var Policy []byte
