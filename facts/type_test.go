package facts

import (
	"testing"

	"github.com/gatehouse/gatehouse/policy"
)

func TestDetectType(t *testing.T) {
	tests := []struct {
		name   string
		header string
		file   string
		isDir  bool
		want   policy.AppType
	}{
		{"elf", "\x7fELF\x02\x01\x01", "ls", false, policy.Binary},
		{"elf named like a package", "\x7fELF\x02\x01\x01", "foo.deb", false, policy.Binary},
		{"macho 32 big-endian", "\xfe\xed\xfa\xce", "a", false, policy.Binary},
		{"macho 64 big-endian", "\xfe\xed\xfa\xcf", "a", false, policy.Binary},
		{"macho 32 little-endian", "\xce\xfa\xed\xfe", "a", false, policy.Binary},
		{"macho 64 little-endian", "\xcf\xfa\xed\xfe\x0c\x00\x00\x01", "Foo", false, policy.Binary},
		{"fat", "\xca\xfe\xba\xbe\x00\x00\x00\x02", "a", false, policy.Binary},
		{"fat 64", "\xca\xfe\xba\xbf\x00\x00\x00\x01", "a", false, policy.Binary},
		{"fat byte-swapped", "\xbe\xba\xfe\xca\x02\x00\x00\x00", "a", false, policy.Binary},
		{"fat 64 byte-swapped", "\xbf\xba\xfe\xca\x01\x00\x00\x00", "a", false, policy.Binary},
		{"java class is not fat", "\xca\xfe\xba\xbe\x00\x00\x00\x34", "A.class", false, policy.TypeUnknown},
		{"fat with zero archs", "\xca\xfe\xba\xbe\x00\x00\x00\x00", "a", false, policy.TypeUnknown},
		{"truncated fat", "\xca\xfe\xba\xbe", "a", false, policy.TypeUnknown},
		{"truncated magic", "\x7fEL", "a", false, policy.TypeUnknown},
		{"shebang", "#!/bin/sh\necho hi\n", "run", false, policy.Script},
		{"bare shebang", "#!", "run", false, policy.Script},
		{"xar", "xar!\x00\x1c", "Installer", false, policy.Package},
		{"deb magic", "!<arch>\ndebian-binary   ", "x", false, policy.Package},
		{"static library is not a package", "!<arch>\n/               ", "libc.a", false, policy.TypeUnknown},
		{"rpm magic", "\xed\xab\xee\xdb\x03\x00", "x", false, policy.Package},
		{"pkg by name", "garbage", "Foo.pkg", false, policy.Package},
		{"mpkg by name", "", "Foo.mpkg", false, policy.Package},
		{"deb by name", "", "foo_1.0_amd64.deb", false, policy.Package},
		{"rpm by name upper case", "", "FOO.RPM", false, policy.Package},
		{"extension only", "", ".pkg", false, policy.TypeUnknown},
		{"text", "hello world\n", "README", false, policy.TypeUnknown},
		{"empty", "", "empty", false, policy.TypeUnknown},
		{"app", "", "Foo.app", true, policy.Bundle},
		{"app trailing slash", "", "Foo.app/", true, policy.Bundle},
		{"app case-insensitive", "", "Foo.APP", true, policy.Bundle},
		{"prefPane", "", "Foo.prefPane", true, policy.SystemPreference},
		{"prefpane lower case", "", "Foo.prefpane", true, policy.SystemPreference},
		{"hidden dir named .app", "", ".app", true, policy.TypeUnknown},
		{"plain dir", "", "bin", true, policy.TypeUnknown},
		{"pkg dir", "", "Foo.pkg", true, policy.TypeUnknown},
		{"file named .app", "", "Foo.app", false, policy.TypeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := detectType([]byte(tt.header), tt.file, tt.isDir); got != tt.want {
				t.Errorf("detectType(%q, %q, %v) = %v, want %v", tt.header, tt.file, tt.isDir, got, tt.want)
			}
		})
	}
}

func TestInterpreter(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"#!/bin/sh\necho hi\n", "/bin/sh"},
		{"#!/bin/sh", "/bin/sh"},
		{"#! /bin/bash -e\n", "/bin/bash"},
		{"#!\t/usr/bin/perl\t-w\n", "/usr/bin/perl"},
		{"#!/usr/bin/env python3\n", "python3"},
		{"#!/usr/bin/env  python3 -u\n", "python3"},
		{"#!/usr/bin/env -S python3 -u\n", "python3"},
		{"#!/usr/bin/env -Spython3\n", "python3"},
		{"#!/usr/bin/env -i PATH=/bin sh\n", "sh"},
		{"#!/usr/bin/env -u HOME -C /tmp node\n", "node"},
		{"#!/usr/bin/env -- ruby\n", "ruby"},
		{"#!/bin/env bash\n", "bash"},
		{"#!/usr/bin/env\n", "/usr/bin/env"},
		{"#!/usr/bin/envy x\n", "/usr/bin/envy"},
		{"#!\n/bin/sh\n", ""},
		{"#!   \n", ""},
		{"#!", ""},
		{"", ""},
		{"/bin/sh", ""},
		{" #!/bin/sh", ""},
	}
	for _, tt := range tests {
		if got := Interpreter([]byte(tt.header)); got != tt.want {
			t.Errorf("Interpreter(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func FuzzDetectType(f *testing.F) {
	f.Add([]byte("\x7fELF"), "ls", false)
	f.Add([]byte("\xca\xfe\xba\xbe\x00\x00\x00\x02"), "a", false)
	f.Add([]byte("\xbe\xba\xfe\xca"), "a", false)
	f.Add([]byte("#!/bin/sh"), "x.pkg", false)
	f.Add([]byte(nil), "Foo.app", true)
	f.Fuzz(func(t *testing.T, header []byte, name string, isDir bool) {
		got := detectType(header, name, isDir)
		if got.String() == "" {
			t.Fatalf("type %d has no name", got)
		}
		if isDir && got != policy.TypeUnknown && got != policy.Bundle && got != policy.SystemPreference {
			t.Fatalf("directory detected as %v", got)
		}
	})
}

func FuzzInterpreter(f *testing.F) {
	for _, s := range []string{"#!/bin/sh\n", "#!/usr/bin/env -S -u X python3", "#!/usr/bin/env -u", "#!"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		got := Interpreter(header)
		if len(got) > len(header) {
			t.Fatalf("interpreter %q longer than header %q", got, header)
		}
	})
}
