//go:build linux

package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/enforcer/fanotify"
	"github.com/gatehouse/gatehouse/internal/scratch"
)

// TestMarkNewFilesystems: the rescan marks each new filesystem once,
// however many mounts it has, forgets one that left mountinfo, and marks a
// filesystem that comes back with its device number (a new one) again.
func TestMarkNewFilesystems(t *testing.T) {
	a, b := scratch.Tmpfs(t), scratch.Tmpfs(t)
	s, err := newFanotifySource([]string{a}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.marked = map[string]string{"0:1": a} // as discovery would have it
	want := func(what string, paths ...string) {
		t.Helper()
		if _, got := s.Describe(); !cmp.Equal(got, paths) {
			t.Errorf("%s: marks %q, want %q", what, got, paths)
		}
	}
	s.markNew([]fanotify.Filesystem{{Point: a, Dev: "0:1"}, {Point: b, Dev: "0:2"}, {Point: b + "/bind", Dev: "0:2"}})
	want("b mounted", a, b)
	s.markNew([]fanotify.Filesystem{{Point: a, Dev: "0:1"}})
	want("b unmounted", a)
	s.markNew([]fanotify.Filesystem{{Point: a, Dev: "0:1"}, {Point: b, Dev: "0:2"}})
	want("b's number on a new filesystem", a, b)
	if got := s.perm.Marks(); !cmp.Equal(got, []string{a, b}) {
		t.Errorf("listener marks %q, want %q", got, []string{a, b})
	}

	// A filesystem that refuses its mark is said once, not at every rescan.
	var log strings.Builder
	s.log = slog.New(slog.NewTextHandler(&log, nil))
	gone := filepath.Join(t.TempDir(), "gone")
	for range 3 {
		s.markNew([]fanotify.Filesystem{{Point: a, Dev: "0:1"}, {Point: gone, Dev: "0:3"}})
	}
	if n := strings.Count(log.String(), "new filesystem not marked"); n != 1 {
		t.Errorf("a refused mark was logged %d times over 3 rescans, want 1:\n%s", n, log.String())
	}
	want("b unmounted, a refused one never marked", a)
}
