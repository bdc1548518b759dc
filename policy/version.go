package policy

// CompareVersions orders alphanumeric versions the way people read them and
// returns -1, 0 or +1. Versions are split into runs of digits and runs of
// letters; other characters (. - _ + space) only separate. Digit runs compare
// as numbers (10.2 < 10.10), letter runs compare case-insensitively (alpha <
// beta < rc), and a letter run sorts before a digit run at the same place,
// so a pre-release sorts before its release: 1.0b2 < 1.0 < 1.0.1. Missing
// trailing parts count as zero (1.0 == 1.0.0).
//
// Two forms macOS bundles use are understood: a leading "v" before a digit
// is not part of the version (v1.2 == 1.2), and a build number in
// parentheses at the end ("1.0 (123)", as CFBundleVersion often reads) is
// compared only when both versions have one: 1.0 (123) == 1.0, so a range
// up to 1.0 takes every build of 1.0, and 1.0 (99) < 1.0 (123).
// It does not allocate.
func CompareVersions(a, b string) int {
	a, ab := splitBuild(trimV(a))
	b, bb := splitBuild(trimV(b))
	if c := compareVersionParts(a, b); c != 0 || ab == "" || bb == "" {
		return c
	}
	return compareVersionParts(ab, bb)
}

// trimV drops a leading v or V that comes before a digit.
func trimV(s string) string {
	if len(s) > 1 && (s[0] == 'v' || s[0] == 'V') && isDigit(s[1]) {
		return s[1:]
	}
	return s
}

// splitBuild splits "1.0 (123)" into "1.0" and "123"; a version without a
// parenthesised build at its end is returned whole.
func splitBuild(s string) (version, build string) {
	end := len(s)
	for end > 0 && s[end-1] == ' ' {
		end--
	}
	if end == 0 || s[end-1] != ')' {
		return s, ""
	}
	open := -1
	for k := end - 2; k >= 0; k-- {
		if s[k] == '(' {
			open = k
			break
		}
		if s[k] == ')' {
			return s, ""
		}
	}
	if open <= 0 {
		return s, ""
	}
	return s[:open], s[open+1 : end-1]
}

func compareVersionParts(a, b string) int {
	i, j := 0, 0
	for {
		sa, na, ka := nextVersionPart(a, i)
		sb, nb, kb := nextVersionPart(b, j)
		i, j = na, nb
		switch {
		case ka == partEnd && kb == partEnd:
			return 0
		case ka == partEnd:
			// a ran out: a letter part in b is a pre-release of a (b < a);
			// a number part counts against an implicit zero.
			if kb == partAlpha {
				return 1
			}
			if c := compareNumeric("0", sb); c != 0 {
				return c
			}
			continue
		case kb == partEnd:
			if ka == partAlpha {
				return -1
			}
			if c := compareNumeric(sa, "0"); c != 0 {
				return c
			}
			continue
		case ka != kb:
			if ka == partAlpha {
				return -1
			}
			return 1
		case ka == partNum:
			if c := compareNumeric(sa, sb); c != 0 {
				return c
			}
		default:
			if c := compareFold(sa, sb); c != 0 {
				return c
			}
		}
	}
}

type versionPart uint8

const (
	partEnd versionPart = iota
	partNum
	partAlpha
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isVersionSeparator reports bytes that only separate parts. Any byte that
// is neither a digit nor a separator belongs to a letter run, so non-ASCII
// text still compares, byte-wise.
func isVersionSeparator(c byte) bool {
	return c == '.' || c == '-' || c == '_' || c == '+' || c == ' ' || c == ',' || c == '~'
}

func nextVersionPart(s string, i int) (part string, next int, kind versionPart) {
	for i < len(s) && isVersionSeparator(s[i]) {
		i++
	}
	if i >= len(s) {
		return "", i, partEnd
	}
	start := i
	if isDigit(s[i]) {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return s[start:i], i, partNum
	}
	for i < len(s) && !isDigit(s[i]) && !isVersionSeparator(s[i]) {
		i++
	}
	return s[start:i], i, partAlpha
}

// compareNumeric compares two digit strings of any length as numbers.
func compareNumeric(a, b string) int {
	for len(a) > 1 && a[0] == '0' {
		a = a[1:]
	}
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func compareFold(a, b string) int {
	for k := 0; k < len(a) && k < len(b); k++ {
		ca, cb := lowerASCII(a[k]), lowerASCII(b[k])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
