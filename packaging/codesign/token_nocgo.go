//go:build !cgo

package codesign

// LoadToken needs cgo (relic's PKCS#11 support): without it, ErrNoPKCS11.
func LoadToken(t Token, keyLabel, certPath string, kind Kind) (*Identity, error) {
	return nil, ErrNoPKCS11
}
