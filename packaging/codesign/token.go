package codesign

import "errors"

// Token is a PKCS#11 token holding signing keys (an HSM, a YubiKey, a
// cloud HSM's PKCS#11 library), used through relic's p11token. The
// private key never leaves it; the certificate, with its intermediate,
// comes from a file (tokens often hold the key alone).
type Token struct {
	// Module is the token's PKCS#11 library (libsofthsm2.so,
	// libykcs11.dylib, …).
	Module string
	// Label selects the token; "" when the module has one token only.
	Label string
	// PIN logs in as the token's user.
	PIN string
}

// ErrNoPKCS11 is LoadToken's error in a build without cgo, which relic's
// PKCS#11 support needs.
var ErrNoPKCS11 = errors.New("this gatehouse-pkg was built without cgo, which PKCS#11 tokens need: build it with CGO_ENABLED=1 (and a C compiler), or export the identity as a .p12")
