package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
)

// A certificate within 30 days of expiring is renewed: the new identity is
// kept (0600) and the running client speaks with it; one further from
// expiry is left alone.
func TestTheSyncRenewsACertificateDueForRenewal(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		lifetime time.Duration
		renewed  bool
	}{{10 * 24 * time.Hour, true}, {90 * 24 * time.Hour, false}} {
		c := consoletest.Start(t, t.TempDir(), server.Options{ClientCertLifetime: tt.lifetime})
		cl, id := c.Enroll(t, "mac-01", nil)
		path := filepath.Join(t.TempDir(), "identity.json")
		if err := renewIfDue(cl, &identityFile{path: path}, quiet); err != nil {
			t.Fatal(err)
		}
		got := cl.Identity()
		if changed := string(got.CertPEM) != string(id.CertPEM); changed != tt.renewed {
			t.Errorf("lifetime %v: renewed %v, want %v", tt.lifetime, changed, tt.renewed)
		}
		if !tt.renewed {
			if _, err := os.Stat(path); err == nil {
				t.Error("an identity not renewed was written")
			}
			continue
		}
		b, err := os.ReadFile(path)
		fi, _ := os.Stat(path)
		var kept client.Identity
		if err != nil || json.Unmarshal(b, &kept) != nil || string(kept.CertPEM) != string(got.CertPEM) || fi.Mode().Perm() != 0o600 {
			t.Fatalf("the kept identity: %v, mode %v", err, fi.Mode())
		}
		if _, err := cl.UploadRequest(context.Background(), server.RequestUpload{EndpointID: 1, User: "a", Kind: "approval", Path: "/x"}); err != nil {
			t.Errorf("the client after the renewal: %v", err)
		}
	}
}
