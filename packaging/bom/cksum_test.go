package bom

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The values are what GNU coreutils 9.1 cksum printed for the same input.
func TestCksumMatchesCksum1(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want uint32
	}{
		{"empty", nil, 4294967295},
		{"one byte", []byte("a"), 1220704766},
		{"check string", []byte("123456789"), 930766865},
		{"two length bytes", make([]byte, 300), 351385237},
		{"three length bytes", bytes.Repeat([]byte("x"), 70000), 4215398528},
		{"every byte value", bytes.Repeat(func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(), 1000), 2080856851},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c cksum
			c.Write(tc.data)
			if got := c.Sum32(); got != tc.want {
				t.Errorf("cksum = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCksumInPiecesIsCksumWhole(t *testing.T) {
	data := make([]byte, 10000)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	var whole, pieces cksum
	whole.Write(data)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+r.IntN(700))
		pieces.Write(rest[:n])
		rest = rest[n:]
	}
	if whole.Sum32() != pieces.Sum32() {
		t.Errorf("in pieces %d, whole %d", pieces.Sum32(), whole.Sum32())
	}
}

// TestCksumAgreesWithTheSystemsCksum runs cksum(1), where there is one, on
// random inputs.
func TestCksumAgreesWithTheSystemsCksum(t *testing.T) {
	path, err := exec.LookPath("cksum")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cksum(1) (coreutils) is not installed: CI must run this check: %v", err)
		}
		t.Skipf("no cksum(1) here (coreutils has it): %v", err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 255, 256, 65535, 65536, 100003} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		cmd := exec.Command(path)
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cksum: %v", err)
		}
		var c cksum
		c.Write(data)
		if want := fmt.Sprintf("%d %d", c.Sum32(), n); strings.TrimSpace(string(out)) != want {
			t.Errorf("%d bytes: cksum(1) printed %q, ours %q", n, strings.TrimSpace(string(out)), want)
		}
	}
}
