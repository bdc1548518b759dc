package proc

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var statusSample = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\nPPid:\t4000\n" +
	"TracerPid:\t0\nUid:\t1000\t0\t0\t1000\nGid:\t100\t100\t100\t100\nFDSize:\t256\nGroups:\t4 24 27 100 \nVmPeak:\t  1000 kB\n"

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    status
		wantErr bool
	}{
		{name: "typical", in: statusSample, want: status{tgid: 4242, ppid: 4000, uid: 1000, euid: 0, gid: 100, egid: 100, groups: []uint32{4, 24, 27, 100}}},
		{name: "no groups", in: "Tgid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t \n", want: status{tgid: 1}},
		{name: "groups line missing", in: "Tgid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t5\t6\t0\t0\n", want: status{tgid: 1, gid: 5, egid: 6}},
		{name: "uid missing", in: "Tgid:\t1\nPPid:\t0\nGid:\t0\t0\t0\t0\n", wantErr: true},
		{name: "bad uid", in: "Tgid:\t1\nPPid:\t0\nUid:\tx\t0\t0\t0\nGid:\t0\t0\t0\t0\n", wantErr: true},
		{name: "short uid", in: "Tgid:\t1\nPPid:\t0\nUid:\t0\nGid:\t0\t0\t0\t0\n", wantErr: true},
		{name: "bad group", in: "Tgid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t1 -2\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(status{})); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    stat
		wantErr bool
	}{
		{name: "typical", in: "12921 (cat) R 12914 12914 29471 34816 -1 4194304 100 0\n", want: stat{comm: "cat", ppid: 12914, ttyNr: 34816}},
		{name: "comm with parens and spaces", in: "7 (a) b (c) S 1 7 7 1025 7 0 0\n", want: stat{comm: "a) b (c", ppid: 1, ttyNr: 1025}},
		{name: "comm looks like fields", in: "7 (x) R 99 9 9 5) S 3 4 5 0 -1\n", want: stat{comm: "x) R 99 9 9 5", ppid: 3, ttyNr: 0}},
		{name: "empty comm", in: "8 () S 2 0 0 0 -1\n", want: stat{comm: "", ppid: 2}},
		{name: "negative tty_nr keeps its bits", in: "9 (t) S 2 0 0 -2147483648 -1\n", want: stat{comm: "t", ppid: 2, ttyNr: 0x80000000}},
		{name: "no parens", in: "9 t S 2 0 0 0 -1\n", wantErr: true},
		{name: "too few fields", in: "9 (t) S 2 0\n", wantErr: true},
		{name: "bad ppid", in: "9 (t) S x 0 0 0\n", wantErr: true},
		{name: "reversed parens", in: "9 )t( S 1 2 3 4 5\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(stat{})); diff != "" {
				t.Errorf("stat (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSyscall(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    syscallState
		wantErr bool
	}{
		{name: "running", in: "running\n", want: syscallState{running: true}},
		{name: "not in a syscall", in: "-1 0x7ffd770a2498 0x7f5cabe652ad\n", want: syscallState{nr: -1}},
		{name: "execve", in: "59 0x55d0c0 0x7ffd00001000 0x7ffd00002000 0x0 0x0 0x0 0x7ffd770a2498 0x7f5cabe652ad\n",
			want: syscallState{nr: 59, args: [6]uint64{0x55d0c0, 0x7ffd00001000, 0x7ffd00002000}}},
		{name: "max values", in: "322 0xffffffffffffffff 0x1 0x2 0x3 0x4 0x5 0x6 0x7",
			want: syscallState{nr: 322, args: [6]uint64{0xffffffffffffffff, 1, 2, 3, 4, 5}}},
		{name: "empty", in: "", wantErr: true},
		{name: "too few", in: "59 0x1 0x2\n", wantErr: true},
		{name: "not hex", in: "59 1 2 3 4 5 6 7 8\n", wantErr: true},
		{name: "overflow", in: "59 0x10000000000000000 0x2 0x3 0x4 0x5 0x6 0x7 0x8\n", wantErr: true},
		{name: "bad number", in: "x 0x1 0x2\n", wantErr: true},
		{name: "negative with args", in: "-1 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSyscall(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(syscallState{})); diff != "" {
				t.Errorf("syscall (-want +got):\n%s", diff)
			}
		})
	}
}

// encodeDev is the kernel's new_encode_dev.
func encodeDev(major, minor uint32) uint32 {
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

func TestTTYDevice(t *testing.T) {
	tests := []struct {
		major, minor uint32
		want         string
	}{
		{0, 0, ""},
		{136, 0, "/dev/pts/0"},
		{136, 3, "/dev/pts/3"},
		{136, 255, "/dev/pts/255"},
		{136, 256, "/dev/pts/256"}, // minor bits above 8 sit at 20-31
		{136, 70000, "/dev/pts/70000"},
		{137, 1, "/dev/pts/257"}, // the old 8-bit-minor layout
		{143, 255, "/dev/pts/2047"},
		{4, 1, "/dev/tty1"},
		{4, 63, "/dev/tty63"},
		{4, 64, "/dev/ttyS0"},
		{4, 70, "/dev/ttyS6"},
		{5, 1, ""},   // /dev/console
		{188, 0, ""}, // ttyUSB0
		{135, 0, ""},
		{144, 0, ""},
	}
	for _, tt := range tests {
		nr := encodeDev(tt.major, tt.minor)
		got, major, minor := ttyDevice(nr)
		if got != tt.want {
			t.Errorf("ttyDevice(%#x = %d:%d) = %q, want %q", nr, tt.major, tt.minor, got, tt.want)
		}
		if nr != 0 && (major != tt.major || minor != tt.minor) {
			t.Errorf("ttyDevice(%#x) decoded %d:%d, want %d:%d", nr, major, minor, tt.major, tt.minor)
		}
	}
}

func FuzzParseSyscall(f *testing.F) {
	f.Add("running\n")
	f.Add("-1 0x7ffd770a2498 0x7f5cabe652ad\n")
	f.Add("59 0x55d0c0 0x7ffd00001000 0x7ffd00002000 0x0 0x0 0x0 0x7ffd770a2498 0x7f5cabe652ad\n")
	f.Add("322 0x 0x1 0x2 0x3 0x4 0x5 0x6 0x7")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := parseSyscall(in)
		if err != nil {
			return
		}
		if st.running && (st.nr != 0 || st.args != [6]uint64{}) {
			t.Fatalf("running with a syscall: %+v", st)
		}
		if st.nr < 0 && st.args != [6]uint64{} {
			t.Fatalf("arguments without a syscall: %+v", st)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add(statusSample)
	f.Add("Tgid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t \n")
	f.Add("Uid:\nGid:\t1\nGroups:\t1 2 3")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := parseStatus([]byte(in))
		if err == nil && !strings.Contains(in, "Tgid:") {
			t.Fatalf("no Tgid line, but parsed %+v", st)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add("12921 (cat) R 12914 12914 29471 34816 -1 4194304 100 0\n")
	f.Add("7 (a) b (c) S 1 7 7 1025 7 0 0\n")
	f.Add("()")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := parseStat([]byte(in))
		if err == nil && !strings.Contains(in, "("+st.comm+")") {
			t.Fatalf("comm %q is not between parentheses in %q", st.comm, in)
		}
	})
}
