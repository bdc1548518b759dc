//go:build cgo

package codesign

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sassoftware/relic/v8/config"
	"github.com/sassoftware/relic/v8/lib/certloader"
	"github.com/sassoftware/relic/v8/signers/sigerrors"
	"github.com/sassoftware/relic/v8/token/p11token"
)

// LoadToken opens t and returns the identity of its private key labelled
// keyLabel with the certificate (PEM or DER, its intermediate after it)
// in certPath. The token stays open while the identity is in use:
// every signature is made on it.
func LoadToken(t Token, keyLabel, certPath string, kind Kind) (*Identity, error) {
	if t.Module == "" || keyLabel == "" || certPath == "" {
		return nil, errors.New("a PKCS#11 identity needs the token's module, the key's label and the certificate file")
	}
	name := fmt.Sprintf("PKCS#11 key %q", keyLabel)
	if t.Label != "" {
		name += fmt.Sprintf(" on token %q", t.Label)
	}
	if _, err := os.Stat(t.Module); err != nil {
		return nil, fmt.Errorf("%s: the PKCS#11 module: %w", name, err)
	}
	cfg := &config.Config{}
	tc := cfg.NewToken("gatehouse")
	tc.Type, tc.Provider, tc.Label = "pkcs11", t.Module, t.Label
	pin := t.PIN
	tc.Pin = &pin
	kc := cfg.NewKey("identity")
	kc.Token, kc.Label = "gatehouse", keyLabel
	tok, err := p11token.Open(cfg, "gatehouse", nil)
	var pinErr sigerrors.PinIncorrectError
	switch {
	case errors.As(err, &pinErr):
		return nil, fmt.Errorf("%s: the token refused the PIN", name)
	case err != nil:
		return nil, fmt.Errorf("%s: open the token through %s: %w", name, t.Module, err)
	}
	key, err := tok.GetKey(context.Background(), "identity")
	var notFound sigerrors.KeyNotFoundError
	switch {
	case errors.As(err, &notFound):
		tok.Close()
		return nil, fmt.Errorf("%s: the token has no such private key (list its objects with `pkcs11-tool --module %s --list-objects --login`)", name, t.Module)
	case err != nil:
		tok.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	id, err := certloader.LoadTokenCertificates(key, certPath, "", nil)
	if err != nil {
		tok.Close()
		return nil, fmt.Errorf("%s, %s: %w", name, certPath, err)
	}
	if err := check(id, name, kind); err != nil {
		tok.Close()
		return nil, err
	}
	return id, nil
}
