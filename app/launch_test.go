package app

import (
	"slices"
	"testing"
)

func TestBundlesAreOpenedAsFinderWould(t *testing.T) {
	for _, tt := range []struct {
		path string
		args []string
		want []string
	}{
		{"/Applications/Tool.app/Contents/MacOS/Tool", nil, []string{"-a", "/Applications/Tool.app"}},
		{"/Applications/My Tool.app/Contents/MacOS/Tool", []string{"--file", "a b.txt"}, []string{"-a", "/Applications/My Tool.app", "--args", "--file", "a b.txt"}},
		{"/usr/local/bin/tool", []string{"x"}, nil},
		{"/.app/Contents/MacOS/x", nil, nil},
	} {
		got, ok := openBundle(tt.path, tt.args)
		if !slices.Equal(got, tt.want) || ok != (tt.want != nil) {
			t.Errorf("openBundle(%s, %q) = %q %v, want %q", tt.path, tt.args, got, ok, tt.want)
		}
	}
}
