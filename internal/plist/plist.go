// Package plist parses Apple property lists from untrusted bytes into plain
// Go values.
//
// It exists to read small, security-relevant plists such as an app bundle's
// Contents/Info.plist (CFBundleIdentifier, CFBundleShortVersionString,
// CFBundleVersion, CFBundleExecutable) and the macOS extended attribute
// com.apple.metadata:kMDItemWhereFroms (a binary plist holding an array of
// URL strings). It is a reader only; there is no encoder.
//
// Two formats are accepted: binary plists (magic "bplist00") and XML plists.
// Parse picks the format from the magic. Values map to Go as follows:
//
//	dict            map[string]any
//	array           []any (a binary set is returned as []any too)
//	string          string (always valid UTF-8)
//	integer         int64, or uint64 when the value exceeds math.MaxInt64
//	real            float64
//	true/false      bool
//	date            time.Time in UTC
//	data            []byte
//	UID (binary)    UID
//
// Limits and behaviour on odd input:
//
//   - The input is treated as hostile: offsets, lengths and object references
//     are bounds-checked, reference cycles are rejected, nesting is limited to
//     512 levels, and a binary plist may decode at most 1<<20 objects in total
//     (shared references count every time they are used), so a small file
//     cannot expand into a huge value. Repeated decoding of the same shared
//     data object is limited to 64 MiB beyond the input's size. Errors are
//     returned, never panics.
//   - Duplicate keys in a dict are not an error: the last one wins.
//   - Binary: only format "bplist00". Null, fill, URL and UUID objects and
//     ordered sets are rejected. Integers of 1, 2, 4 and 8 bytes are read as
//     Apple writes them (1, 2 and 4 bytes unsigned, 8 bytes signed); a 16-byte
//     integer is accepted only when its value fits in int64 or uint64. ASCII
//     strings containing bytes >= 0x80 are decoded as Latin-1; UTF-16 strings
//     with unpaired surrogates get U+FFFD. Dict keys must be strings.
//   - XML: the document must be UTF-8 (an optional UTF-8 byte order mark is
//     skipped). Parsing uses encoding/xml in strict mode, so no external or
//     DTD-declared entities are ever resolved; only the five predefined XML
//     entities and character references are expanded. The <plist> wrapper is
//     optional. Integers may be decimal or 0x-prefixed hex, optionally signed.
//     Dates must be ISO 8601 (RFC 3339, "Z" or offset; no zone means UTC).
//     Data is base64 and may contain whitespace.
//   - OpenStep/ASCII ("old-style") plists and JSON are not supported.
//
// Why this package and not howett.net/plist, which the project uses to
// write plists and to read trusted ones (its own build outputs, the
// operator's provisioning profile): measured on howett.net/plist v1.0.1
// (BenchmarkHostile in howett_compare_test.go; figures in
// docs/benchmarks.md, "Property lists"), hostile bytes of the sizes our
// callers accept (1 MiB of xattr, a 4 MiB Info.plist) make it
//
//   - panic with runtime errors it deliberately re-raises (slice bounds out
//     of range, makeslice: len out of range), because lengths and counts
//     near 2^64 wrap its bounds checks; a wrapped ASCII string length even
//     comes back as a string of length -1;
//   - allocate an attacker-chosen amount: a 51-byte binary plist with 0-byte
//     object references declares an array of 2^40 elements, and the
//     16 TiB allocation ends the process ("fatal error: out of memory",
//     which no recover catches);
//   - spend time quadratic in the nesting depth, which it does not limit
//     (its cycle check scans the whole container stack at every level): a
//     1 MiB binary plist nested 150,000 deep takes 4–5 s, a 4 MiB one 80 s;
//     and 4 MiB of "(" sent to its OpenStep fallback overflows the 1 GB
//     goroutine stack (fatal, uncatchable);
//   - expand shared references when decoding into an interface value: 203
//     bytes declaring 2^40 leaves grow until out of memory.
//
// This package rejects each of those inputs with an error in well under a
// millisecond to 0.3 s. Keep untrusted input here; the importrules test
// bans howett.net/plist from facts.
package plist

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// UID is a reference used by NSKeyedArchiver. It occurs only in binary
// property lists (marker 0x8).
type UID uint64

const (
	// maxDepth is the deepest nesting of arrays and dicts accepted.
	maxDepth = 512
	// maxObjects caps the number of objects decoded from one binary plist,
	// counting every use of a shared object.
	maxObjects = 1 << 20
	// maxSharedData caps the bytes copied for data objects beyond the
	// input's own size (a data object decoded many times via shared refs).
	maxSharedData = 64 << 20
)

const binaryMagic = "bplist00"

// Parse parses a binary ("bplist00") or XML property list and returns its
// top-level value. See the package documentation for the type mapping.
func Parse(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("plist: empty input")
	}
	if bytes.HasPrefix(data, []byte("bplist")) {
		if !bytes.HasPrefix(data, []byte(binaryMagic)) {
			return nil, fmt.Errorf("plist: unsupported binary plist version %q (only %q is supported)",
				data[:min(len(data), 8)], binaryMagic)
		}
		return parseBinary(data)
	}
	return parseXML(data)
}

// Dict parses a property list like Parse and requires the top-level value
// to be a dict.
func Dict(data []byte) (map[string]any, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("plist: top-level value is %s, not dict", typeName(v))
	}
	return m, nil
}

// typeName names the plist type of a decoded value, for error messages.
func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "dict"
	case []any:
		return "array"
	case string:
		return "string"
	case int64, uint64:
		return "integer"
	case float64:
		return "real"
	case bool:
		return "boolean"
	case time.Time:
		return "date"
	case []byte:
		return "data"
	case UID:
		return "UID"
	}
	return fmt.Sprintf("%T", v)
}

// intValue returns u as int64 when it fits, else as uint64.
func intValue(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}

// short truncates attacker-controlled text quoted in error messages.
func short(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
