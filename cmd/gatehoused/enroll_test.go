package main

import (
	"bytes"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// Enroll checks who the sync will run as before it asks the console: a
// single-use token is spent by the enrollment. The console here is a
// listener that fails the test if anything connects.
func TestEnrollRefusesASyncUserMistakeBeforeTheConsole(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			t.Error("enroll contacted the console")
			c.Close()
		}
	}()
	url := "https://" + l.Addr().String()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehoused.yaml")
	prev := lookupUser
	t.Cleanup(func() { lookupUser = prev })
	lookupUser = func(name string) (*user.User, error) {
		if name == packagedSyncUser {
			return &user.User{Username: name, Uid: "399", Gid: "399"}, nil
		}
		return nil, user.UnknownUserError(name)
	}
	for _, tc := range []struct {
		config, identity, want string
	}{
		{"sync_user: nosuchsync\n", filepath.Join(dir, "id.json"), "sync_user nosuchsync in " + cfg + ": user: unknown user nosuchsync; nothing was sent to the console"},
		{"sync_user: \"\"\n", defaultSyncIdentity, `but sync_user is empty in ` + cfg + ` (an upgrade keeps an edited configuration), so it could not read its identity: set "sync_user: ` + packagedSyncUser + `" there`},
	} {
		if err := os.WriteFile(cfg, []byte("database: "+filepath.Join(dir, "g.db")+"\n"+tc.config), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := enroll([]string{"--config", cfg, "--identity", tc.identity, url, "gh1.x.y"}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.config, code, stderr.String(), tc.want)
		}
		if _, err := os.Stat(tc.identity); err == nil {
			t.Errorf("%q: an identity was written", tc.config)
		}
	}
}
