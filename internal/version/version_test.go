package version

import (
	"regexp"
	"testing"
)

func TestString(t *testing.T) {
	// A test binary has no recorded commit: "dev", or a module version.
	if got := String(); !regexp.MustCompile(`^(dev(\+[0-9a-f]{1,12}(-dirty)?)?|v\S+)$`).MatchString(got) {
		t.Errorf("String() = %q", got)
	}
	release = "1.2.0"
	defer func() { release = "" }()
	if got := String(); got != "1.2.0" {
		t.Errorf("with a release stamped, String() = %q, want 1.2.0", got)
	}
}
