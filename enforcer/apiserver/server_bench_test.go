package apiserver_test

import (
	"context"
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/localapi"
)

// BenchmarkCheck is one `gatehouse check` of a small script over the real
// socket: by descriptor (what every client sends) and, side by side, by
// path (root only), to show what passing descriptors costs.
func BenchmarkCheck(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("checking by path is for root; run as root to compare the two")
	}
	e := newEnv(b, nil)
	prog := e.file("deny/tool", "#!/bin/sh\necho benchmark\n")
	ctx := context.Background()
	b.Run("descriptor", func(b *testing.B) {
		for b.Loop() {
			fs, err := facts.Open(prog)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.client.Check(ctx, localapi.Check{}, fs.List); err != nil {
				b.Fatal(err)
			}
			fs.Close()
		}
	})
	b.Run("path", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.client.Check(ctx, localapi.Check{Path: prog}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
