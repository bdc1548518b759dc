//go:build cgo

package codesigntest

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/sassoftware/relic/v8/config"
	"github.com/sassoftware/relic/v8/token/p11token"
)

// SoftHSM's PKCS#11 module where Debian's softhsm2 puts it.
var softHSMModules = []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"}

// SoftHSMModule returns the SoftHSM2 module's path, or "" if softhsm2 is
// not installed.
func SoftHSMModule() string {
	for _, m := range softHSMModules {
		if _, err := os.Stat(m); err == nil {
			if _, err := exec.LookPath("softhsm2-util"); err == nil {
				return m
			}
		}
	}
	return ""
}

// The token SoftHSM makes.
const (
	TokenLabel = "gatehouse-test"
	TokenPIN   = "246810"
)

// SoftHSM makes a SoftHSM2 token labelled TokenLabel (user PIN TokenPIN)
// in dir and puts each key on it under its label. SOFTHSM2_CONF must be
// dir/softhsm2.conf already (set it with t.Setenv): the module reads it
// once, when the process first opens it, so a process has one such token.
func SoftHSM(dir string, keys map[string]crypto.PrivateKey) (module string, err error) {
	module = SoftHSMModule()
	if module == "" {
		return "", errors.New("softhsm2 is not installed (scripts/setup installs it)")
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if os.Getenv("SOFTHSM2_CONF") != conf {
		return "", fmt.Errorf("set SOFTHSM2_CONF to %s first", conf)
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		return "", err
	}
	if out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", TokenLabel, "--pin", TokenPIN, "--so-pin", "13579135").CombinedOutput(); err != nil {
		return "", fmt.Errorf("softhsm2-util --init-token: %v: %s", err, out)
	}
	cfg := &config.Config{}
	tc := cfg.NewToken("t")
	pin := TokenPIN
	tc.Type, tc.Provider, tc.Label, tc.Pin = "pkcs11", module, TokenLabel, &pin
	for label := range keys {
		kc := cfg.NewKey(label)
		kc.Token, kc.Label = "t", label
	}
	tok, err := p11token.Open(cfg, "t", nil)
	if err != nil {
		return "", fmt.Errorf("open the new token: %w", err)
	}
	defer tok.Close()
	for label, k := range keys {
		if _, err := tok.Import(label, k); err != nil {
			return "", fmt.Errorf("import %s: %w", label, err)
		}
	}
	return module, nil
}
