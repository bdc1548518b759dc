package pki

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/console/signed"
)

func b(ss ...string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func TestASignatureVerifiesOnlyForWhatWasSigned(t *testing.T) {
	a := newAuthority(t)
	keys := a.SigningPublics()
	sig := a.Sign("decision", b("m-1", "sha256:ab", "allow")...)
	if !Verify(keys, sig, "decision", b("m-1", "sha256:ab", "allow")...) {
		t.Fatal("a signature does not verify")
	}
	flipped := append([]byte(nil), sig...)
	flipped[0] ^= 1
	for _, tt := range []struct {
		name   string
		keys   []ed25519.PublicKey
		sig    []byte
		kind   string
		fields [][]byte
	}{
		{"another kind", keys, sig, "policy", b("m-1", "sha256:ab", "allow")},
		{"a kind with a suffix", keys, sig, "decision2", b("m-1", "sha256:ab", "allow")},
		{"a changed field", keys, sig, "decision", b("m-1", "sha256:ab", "deny")},
		{"a changed first field", keys, sig, "decision", b("m-2", "sha256:ab", "allow")},
		{"a field more", keys, sig, "decision", b("m-1", "sha256:ab", "allow", "")},
		{"a field less", keys, sig, "decision", b("m-1", "sha256:ab")},
		{"a moved field boundary", keys, sig, "decision", b("m-1s", "ha256:ab", "allow")},
		{"all fields in one", keys, sig, "decision", b("m-1sha256:aballow")},
		{"a flipped signature bit", keys, flipped, "decision", b("m-1", "sha256:ab", "allow")},
		{"a short signature", keys, sig[:63], "decision", b("m-1", "sha256:ab", "allow")},
		{"no keys", nil, sig, "decision", b("m-1", "sha256:ab", "allow")},
		{"another authority's key", newAuthority(t).SigningPublics(), sig, "decision", b("m-1", "sha256:ab", "allow")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if Verify(tt.keys, tt.sig, tt.kind, tt.fields...) {
				t.Error("Verify accepted it")
			}
		})
	}
}

func TestFieldBoundariesAreNotAmbiguous(t *testing.T) {
	a := newAuthority(t)
	sig := a.Sign("decision", b("a", "bc")...)
	if Verify(a.SigningPublics(), sig, "decision", b("ab", "c")...) {
		t.Error(`a signature of ("a", "bc") verifies for ("ab", "c")`)
	}
}

func TestVerifySkipsMalformedKeysWithoutPanicking(t *testing.T) {
	a := newAuthority(t)
	sig := a.Sign("policy", []byte("p"))
	keys := []ed25519.PublicKey{nil, make(ed25519.PublicKey, 31), a.SigningPublic()}
	if !Verify(keys, sig, "policy", []byte("p")) {
		t.Error("Verify did not reach the good key after malformed ones")
	}
}

func TestAKindThatCouldBeAmbiguousIsRefused(t *testing.T) {
	a := newAuthority(t)
	for _, kind := range []string{"", "decision\x00", "a\x00b"} {
		t.Run(strings.ReplaceAll(kind, "\x00", `\0`), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Sign(%q) did not panic", kind)
				}
			}()
			a.Sign(kind)
		})
		if Verify(a.SigningPublics(), make([]byte, ed25519.SignatureSize), kind) {
			t.Errorf("Verify(%q) = true", kind)
		}
	}
}

func TestRotationKeepsOldSignaturesValidUntilTheOldKeyIsDropped(t *testing.T) {
	a := newAuthority(t)
	pinned := a.SigningPublic()
	oldSig := a.Sign("policy", []byte("rev 1"))

	if err := a.RotateSigning(); err != nil {
		t.Fatal(err)
	}
	newSig := a.Sign("policy", []byte("rev 2"))
	if a.SigningPublic().Equal(pinned) {
		t.Fatal("RotateSigning kept the current key")
	}
	if err := a.RotateSigning(); err == nil {
		t.Error("a second rotation during the overlap succeeded")
	}
	check := func(when string, a *Authority, wantOld bool) {
		t.Helper()
		keys := a.SigningPublics()
		if got := Verify(keys, oldSig, "policy", []byte("rev 1")); got != wantOld {
			t.Errorf("%s: old-key signature verifies = %v, want %v", when, got, wantOld)
		}
		if !Verify(keys, newSig, "policy", []byte("rev 2")) {
			t.Errorf("%s: new-key signature does not verify", when)
		}
		if Verify([]ed25519.PublicKey{a.SigningPublic()}, oldSig, "policy", []byte("rev 1")) {
			t.Errorf("%s: the old signature verifies with the current key alone", when)
		}
	}
	check("after RotateSigning", a, true)
	// An endpoint that pinned only the old key still accepts old signatures.
	if !Verify([]ed25519.PublicKey{pinned}, oldSig, "policy", []byte("rev 1")) {
		t.Error("the pinned old key no longer verifies its signature")
	}

	dir := saved(t, a)
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	check("after Save and Load during the overlap", loaded, true)

	loaded.DropOldSigning()
	check("after DropOldSigning", loaded, false)
	if err := loaded.Save(dir); err != nil {
		t.Fatal(err)
	}
	reloaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	check("after DropOldSigning, Save and Load", reloaded, false)
	if n := len(reloaded.SigningPublics()); n != 1 {
		t.Errorf("SigningPublics has %d keys after the drop was saved, want 1", n)
	}
	if err := reloaded.RotateSigning(); err != nil {
		t.Errorf("rotating after the overlap ended: %v", err)
	}
}

// During an overlap the console's keys come signed by the previous key,
// which endpoints enrolled before the rotation pinned; outside one there is
// no statement. Another node takes the rotated keys with ReloadSigning.
func TestARotationIsAnnouncedWithThePreviousKey(t *testing.T) {
	a := newAuthority(t)
	if _, _, ok := a.KeysStatement(); ok {
		t.Error("a statement outside an overlap")
	}
	pinned := a.SigningPublic()
	if err := a.RotateSigning(); err != nil {
		t.Fatal(err)
	}
	keys, sig, ok := a.KeysStatement()
	if !ok || len(keys) != 2 || !a.SigningPublic().Equal(ed25519.PublicKey(keys[0])) || !pinned.Equal(ed25519.PublicKey(keys[1])) {
		t.Fatalf("statement keys %x (ok %v)", keys, ok)
	}
	if !Verify([]ed25519.PublicKey{pinned}, sig, signed.KindSigningKeys, signed.SigningKeysFields(keys)...) {
		t.Error("the statement does not verify with the key endpoints pinned")
	}
	if Verify([]ed25519.PublicKey{a.SigningPublic()}, sig, signed.KindSigningKeys, signed.SigningKeysFields(keys)...) {
		t.Error("the statement verifies with the new key alone: anyone holding it could announce keys")
	}
	files, _ := a.Files()
	other, _ := FromFiles(files, "db")
	other.DropOldSigning()
	b := newAuthority(t)
	if err := b.ReloadSigning(files, "db"); err == nil {
		t.Error("another CA took this one's keys")
	}
	if err := other.ReloadSigning(files, "db"); err != nil || len(other.SigningPublics()) != 2 {
		t.Errorf("reload: %v, %d keys", err, len(other.SigningPublics()))
	}
}
