//go:build linux || darwin

package facts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/policy"
)

// within runs f and fails the test if it has not returned after d: for
// calls that used to block forever.
func within[T any](t *testing.T, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s: no return within %v (blocked)", what, d)
		panic("unreachable")
	}
}

// TestNamedPipesAreRefusedNotRead: a named pipe where a program or a
// bundle's Info.plist or main executable should be is refused at once.
// Opening one for reading used to block until a writer came, holding a
// thread of the daemon for every such check.
func TestNamedPipesAreRefusedNotRead(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	fifo := filepath.Join(dir, "prog")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	plistFifo := makeBundle(t, dir, "PlistFifo.app", "", "PlistFifo")
	if err := syscall.Mkfifo(filepath.Join(plistFifo, "Contents", "Info.plist"), 0o644); err != nil {
		t.Fatal(err)
	}
	exeFifo := makeBundle(t, dir, "ExeFifo.app", infoPlist, "Other")
	if err := syscall.Mkfifo(filepath.Join(exeFifo, "Contents", "MacOS", "Foo"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, plistFifo, exeFifo} {
		err := within(t, 10*time.Second, "Program("+p+")", func() error { _, err := Program(p); return err })
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("Program(%s) = %v, want a named-pipe refusal", filepath.Base(p), err)
		}
	}
	// A caller that sends an open pipe gets the same refusal: nothing
	// reads from it.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	type result struct {
		n   int
		err error
	}
	res := within(t, 10*time.Second, "FromFiles(pipe)", func() result {
		_, n, err := FromFiles(context.Background(), []*os.File{r}, "/bin/x", 0)
		return result{n, err}
	})
	n, err := res.n, res.err
	if err == nil || !strings.Contains(err.Error(), "pipe") || n != 1 {
		t.Errorf("FromFiles(pipe) = %d, %v; want 1 file used and a refusal", n, err)
	}
}

// TestFromFilesBounded: a file over the size limit is refused before it is
// read, and hashing stops when the context ends (a 1 TiB sparse file used
// to be hashed to the end, two cores busy after the caller had left).
func TestFromFilesBounded(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = f.Truncate(1 << 40)
	scratch.Need(t, err == nil, fmt.Sprintf("a temporary directory that holds a 1 TiB sparse file (%v)", err))
	_, _, err = FromFiles(context.Background(), []*os.File{f}, huge, 1<<30)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1099511627776 bytes") {
		t.Errorf("over the size limit: %v, want ErrTooLarge naming the size", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = within(t, 30*time.Second, "hash of a 1 TiB file with a 200ms context", func() error {
		_, _, err := FromFiles(ctx, []*os.File{f}, huge, 0)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hash with an ended context: %v, want context.DeadlineExceeded", err)
	}
}

// TestFromFilesBundle: a bundle is read from the three files Open returns,
// and a main executable that is not the bundle's is refused (the caller
// lied or the bundle changed), not hashed as the bundle's.
func TestFromFilesBundle(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	app := makeBundle(t, dir, "Foo.app", infoPlist, "Foo")
	fs, err := Open(app)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if len(fs.List) != 3 || fs.Path != app {
		t.Fatalf("Open(bundle) = %d files at %s, want 3 at %s", len(fs.List), fs.Path, app)
	}
	extra, err := os.Open("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	s, n, err := FromFiles(context.Background(), append(fs.List, extra), app, 0)
	if err != nil || n != 3 || s.Type != policy.Bundle || s.BundleID != "com.example.foo" {
		t.Errorf("FromFiles(bundle + 1) = %+v, %d, %v; want the bundle from 3 files", s, n, err)
	}
	if _, _, err := FromFiles(context.Background(), fs.List[:2], app, 0); err == nil || !strings.Contains(err.Error(), "three files") {
		t.Errorf("bundle from 2 files: %v", err)
	}
	other, err := os.Open(filepath.Join(app, "Contents", "Resources", "en.lproj", "x.strings"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, _, err = FromFiles(context.Background(), []*os.File{fs.List[0], fs.List[1], other}, app, 0)
	if err == nil || !strings.Contains(err.Error(), "not the bundle's") {
		t.Errorf("bundle with another file as its executable: %v, want a refusal", err)
	}
}
