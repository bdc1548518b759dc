package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/offline"
)

// knownExport is the export of the secret whose bytes are 1..32; with it,
// laptop-7, revision 42, request code 004217 on 2026-11-23 answer
// 6GMX-RAJD-P51Z (computed independently, see offline's tests).
const knownExport = "GHK1-0410-6105-0R3G-G28A-1C60-T3GF-208H-44RM-2MB1-E60S-38DH-R78Y-3WGA-RT9C"

func TestOfflineRespond(t *testing.T) {
	dir := t.TempDir()
	exportFile := filepath.Join(dir, "laptop-7.secret")
	if err := os.WriteFile(exportFile, []byte(knownExport+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"offline", "respond", "--machine", "LAPTOP-7", "--revision", "42", "--date", "2026-11-23"}
	for _, extra := range [][]string{
		{"--request-code", "004217", "--secret", knownExport},
		{"--request-code", "004 217", "--secret", strings.ToLower(knownExport)},
		{"--secret-file", exportFile, "--request-code", "004-217"},
	} {
		code, out, errOut := runCLI(t, append(common, extra...)...)
		if code != exitOK || out != "6GMX-RAJD-P51Z\n" || errOut != "" {
			t.Errorf("%v: code %d, out %q, stderr %q", extra, code, out, errOut)
		}
	}
}

// TestOfflineRespondMachineKey: the help desk can use the machine's key
// file itself, and the code it prints is the one the machine accepts today.
func TestOfflineRespondMachineKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "gh", "offline.key")
	s, err := offline.LoadOrCreateSecret(key)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "offline", "respond", "--machine", "build01", "--request-code", "000001", "--revision", "0", "--secret-file", key)
	if code != exitOK {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	c := offline.Challenge{Machine: "build01", Revision: 0, RequestCode: "000001"}
	now := time.Now()
	if _, err := offline.Redeem(s, c, offline.State{Created: now}, offline.Limits{}, now, strings.TrimSpace(out)); err != nil {
		t.Errorf("the machine refuses %q: %v", out, err)
	}
}

func TestOfflineRespondStdin(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(knownExport)
	f.Seek(0, 0)
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	code, out, errOut := runCLI(t, "offline", "respond", "--machine", "laptop-7", "--request-code", "004217", "--revision", "42", "--date", "2026-11-23", "--secret-file", "-")
	if code != exitOK || out != "6GMX-RAJD-P51Z\n" {
		t.Errorf("code %d, out %q, stderr %q", code, out, errOut)
	}
}

func TestOfflineRespondErrors(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.secret")
	if err := os.WriteFile(loose, []byte(knownExport), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(knownExport, "0410", "0411", 1)
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no machine", []string{"--request-code", "004217", "--revision", "42", "--secret", knownExport}, exitUsage, "--machine is missing"},
		{"no request code", []string{"--machine", "m", "--revision", "42", "--secret", knownExport}, exitUsage, "--request-code is missing"},
		{"no revision", []string{"--machine", "m", "--request-code", "004217", "--secret", knownExport}, exitUsage, "--revision is missing"},
		{"no secret", []string{"--machine", "m", "--request-code", "004217", "--revision", "42"}, exitUsage, "either --secret-file FILE or --secret TEXT"},
		{"two secrets", []string{"--machine", "m", "--request-code", "004217", "--revision", "42", "--secret", knownExport, "--secret-file", loose}, exitUsage, "either --secret-file FILE or --secret TEXT"},
		{"short request code", []string{"--machine", "m", "--request-code", "04217", "--revision", "42", "--secret", knownExport}, exitUsage, "the request code has 6 digits; this one has 5"},
		{"letter in request code", []string{"--machine", "m", "--request-code", "0042I7", "--revision", "42", "--secret", knownExport}, exitUsage, "the request code contains 'I'; it has digits only"},
		{"negative revision", []string{"--machine", "m", "--request-code", "004217", "--revision", "-3", "--secret", knownExport}, exitUsage, "the policy revision -3 is negative"},
		{"empty machine", []string{"--machine", " ", "--request-code", "004217", "--revision", "1", "--secret", knownExport}, exitUsage, "the machine name is empty"},
		{"bad date", []string{"--machine", "m", "--request-code", "004217", "--revision", "1", "--date", "23/11/2026", "--secret", knownExport}, exitUsage, `--date: the date "23/11/2026" is not written YYYY-MM-DD`},
		{"secret copied wrong", []string{"--machine", "m", "--request-code", "004217", "--revision", "1", "--secret", bad}, exitFail, "checksum does not match"},
		{"missing secret file", []string{"--machine", "m", "--request-code", "004217", "--revision", "1", "--secret-file", filepath.Join(dir, "none")}, exitFail, "no such file"},
		{"positional argument", []string{"laptop-7", "--machine", "m"}, exitUsage, `unexpected argument "laptop-7"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"offline", "respond"}, tc.args...)...)
			if code != tc.wantCode || out != "" || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("code %d (want %d), out %q, stderr %q (want %q)", code, tc.wantCode, out, errOut, tc.wantErr)
			}
		})
	}
	code, out, errOut := runCLI(t, "offline", "respond", "--machine", "laptop-7", "--request-code", "004217", "--revision", "42", "--date", "2026-11-23", "--secret-file", loose)
	if code != exitOK || out != "6GMX-RAJD-P51Z\n" || !strings.Contains(errOut, "warning: "+loose+" has mode 0644: others may read this secret") {
		t.Errorf("loose secret file: code %d, out %q, stderr %q", code, out, errOut)
	}
}

func TestOfflineSecret(t *testing.T) {
	key := filepath.Join(t.TempDir(), "gh", "offline.key")
	code, out, errOut := runCLI(t, "offline", "secret", "--path", key)
	if code != exitOK || !strings.Contains(out, "the offline secret is in "+key) {
		t.Fatalf("create: code %d, out %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "offline", "secret", "--path", key, "--export")
	s, err := offline.LoadSecret(key)
	if err != nil {
		t.Fatal(err)
	}
	if code != exitOK || out != s.Export()+"\n" {
		t.Errorf("export: code %d, out %q", code, out)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "offline", "secret", "--path", key, "--export")
	if code != exitFail || out != "" || !strings.Contains(errOut, "has mode 0644, so other users may have read or changed it; delete it") {
		t.Errorf("0644: code %d, out %q, stderr %q", code, out, errOut)
	}
}

func TestOfflineDispatch(t *testing.T) {
	if code, _, errOut := runCLI(t, "offline"); code != exitUsage || !strings.Contains(errOut, "offline respond") {
		t.Errorf("offline: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "offline", "answer"); code != exitUsage || !strings.Contains(errOut, `unknown command "answer"; use respond or secret`) {
		t.Errorf("offline answer: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "offline", "respond", "-h"); code != exitOK || !strings.Contains(errOut, "--request-code") {
		t.Errorf("respond -h: code %d, stderr %q", code, errOut)
	}
}
