package authdb

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzRewrite: for any input, Install and Uninstall return an error or a
// plan, never panic; for every definition Install takes, the copy it
// writes is the input byte for byte, the wrapper reads back as Gatehouse's
// and carries what authd reads from the right itself, and uninstalling
// from the wrapper writes the input back, byte for byte.
func FuzzRewrite(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "system.*.plist"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<plist version="1.0"><dict><key>class</key><string>evaluate-mechanisms</string><key>mechanisms</key><array><string>builtin:authenticate,privileged</string></array></dict></plist>`))
	f.Add([]byte(`<plist><dict><key>class</key><string>user</string><key>allow-root</key><true/><key>default-prompt</key><dict><key>fr</key><string>&lt;x&gt;</string></dict><key>version</key><integer>-1</integer></dict></plist>`))
	f.Add([]byte(`<plist><dict><key>class</key><string>rule</string><key>rule</key><string>com.gatehouse.decide</string></dict></plist>`))
	f.Add([]byte("bplist00"))
	f.Add([]byte(`{class = user;}`))
	const right = "system.preferences.network"
	f.Fuzz(func(t *testing.T, data []byte) {
		Managed(data) //nolint:errcheck // must not panic, whatever it says
		p, err := Install(right, data)
		if err != nil {
			if _, err := Uninstall(right, data, data); err == nil {
				// Uninstall takes only an original Install could have taken
				// (or a wrapper, which Install refuses as ErrManaged).
				if m, _ := Managed(data); !m {
					t.Fatalf("Uninstall took an original Install refused")
				}
			}
			return
		}
		if got := []string{p.Writes[0].Name, p.Writes[1].Name, p.Writes[2].Name}; len(p.Writes) != 3 ||
			!slices.Equal(got, []string{DecideRight, OriginalName(right), right}) {
			t.Fatalf("writes %v", p.Writes)
		}
		if !bytes.Equal(p.Writes[1].Definition, data) || !bytes.Equal(p.Original, data) {
			t.Fatalf("the copy or Original is not the input")
		}
		orig, err := parse(data)
		if err != nil {
			t.Fatalf("Install took what parse refuses: %v", err)
		}
		w, err := parse(p.Writes[2].Definition)
		if err != nil {
			t.Fatalf("the wrapper does not parse: %v", err)
		}
		if !delegatesTo(w, DecideRight) || !delegatesTo(w, OriginalName(right)) || w["k-of-n"] != uint64(1) {
			t.Fatalf("the wrapper is not Gatehouse's: %v", w)
		}
		for _, k := range []string{"version", "default-prompt", "default-button", "entitled", "require-apple-signed"} {
			if !sameValue(t, orig[k], w[k]) {
				t.Fatalf("the wrapper's %s is %#v, the original's %#v", k, w[k], orig[k])
			}
		}
		if root := orig["class"] == "user" && orig["allow-root"] == true; root != delegatesTo(w, isRoot) {
			t.Fatalf("allow-root %v, is-root in the wrapper %v", orig["allow-root"], !root)
		}

		u, err := Uninstall(right, p.Writes[2].Definition, p.Original)
		if err != nil {
			t.Fatalf("Uninstall from the wrapper: %v", err)
		}
		if u.Replaced || len(u.Writes) != 1 || u.Writes[0].Name != right || !bytes.Equal(u.Writes[0].Definition, data) ||
			!slices.Equal(u.Removes, []string{OriginalName(right)}) {
			t.Fatalf("Uninstall from the wrapper: %+v", u)
		}
		if u, err := Uninstall(right, data, p.Original); err != nil || !u.Replaced || len(u.Writes) != 0 {
			t.Fatalf("Uninstall from a right not Gatehouse's: %+v, %v", u, err)
		}
	})
}

// sameValue compares plist values by their encoding (NaN reals included).
func sameValue(t *testing.T, a, b any) bool {
	t.Helper()
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ea, err := encode(a)
	if err != nil {
		t.Fatalf("encode %#v: %v", a, err)
	}
	eb, err := encode(b)
	if err != nil {
		t.Fatalf("encode %#v: %v", b, err)
	}
	return bytes.Equal(ea, eb)
}
