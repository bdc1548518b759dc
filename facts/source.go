package facts

import (
	"fmt"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/plist"
)

const (
	// originAttr is the freedesktop.org attribute for a download's URL.
	originAttr = "user.xdg.origin.url"
	// whereFromsAttr is where macOS browsers and Mail record a download's
	// URLs: a binary property list holding an array of strings.
	whereFromsAttr = "com.apple.metadata:kMDItemWhereFroms"
	// maxAttrSize caps an attribute value read (Linux allows 64 KiB).
	maxAttrSize = 1 << 20
)

// source returns the URL f was downloaded from, or "" if none is recorded or
// it cannot be read: see the package documentation for why that is not an
// error.
func source(f *os.File) string {
	s, _ := readSource(f)
	return s
}

// parseOriginURL turns the value of user.xdg.origin.url into a URL. Some
// writers store a terminating NUL.
func parseOriginURL(v []byte) string {
	return strings.TrimRight(string(v), "\x00")
}

// parseWhereFroms returns the first non-empty URL of a kMDItemWhereFroms
// value. The first entry is the download's URL; later ones are the pages it
// was downloaded from. A plain string is accepted as a one-entry list.
func parseWhereFroms(v []byte) (string, error) {
	if len(v) == 0 {
		return "", nil
	}
	p, err := plist.Parse(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", whereFromsAttr, err)
	}
	switch p := p.(type) {
	case string:
		return p, nil
	case []any:
		for _, e := range p {
			if s, ok := e.(string); ok && s != "" {
				return s, nil
			}
		}
		return "", nil
	}
	return "", fmt.Errorf("%s holds %T, not a list of URLs", whereFromsAttr, p)
}
