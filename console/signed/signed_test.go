package signed

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func b(ss ...string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func TestSignedMessageEncodingIsFixed(t *testing.T) {
	for _, tt := range []struct {
		kind   string
		fields [][]byte
		want   string
	}{
		{"decision", b("a", "bc"), "gatehouse-console-v1\x00decision\x00\x00\x00\x00\x01a\x00\x00\x00\x02bc"},
		{"decision", b("ab", "c"), "gatehouse-console-v1\x00decision\x00\x00\x00\x00\x02ab\x00\x00\x00\x01c"},
		{"policy", nil, "gatehouse-console-v1\x00policy\x00"},
		{"policy", b(""), "gatehouse-console-v1\x00policy\x00\x00\x00\x00\x00"},
	} {
		got, err := Message(tt.kind, tt.fields...)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, string(got)); d != "" {
			t.Errorf("message(%q, %q) (-want +got):\n%s", tt.kind, tt.fields, d)
		}
	}
}

func TestDecisionFieldsBindEveryPart(t *testing.T) {
	ws, we := time.Unix(1000, 0), time.Unix(2000, 0)
	base := DecisionFields("m-1", 7, true, ws, we, 4)
	for name, other := range map[string][][]byte{
		"machine":  DecisionFields("m-2", 7, true, ws, we, 4),
		"request":  DecisionFields("m-1", 8, true, ws, we, 4),
		"verdict":  DecisionFields("m-1", 7, false, ws, we, 4),
		"start":    DecisionFields("m-1", 7, true, ws.Add(time.Second), we, 4),
		"end":      DecisionFields("m-1", 7, true, ws, we.Add(time.Second), 4),
		"revision": DecisionFields("m-1", 7, true, ws, we, 5),
	} {
		a, _ := Message(KindDecision, base...)
		o, _ := Message(KindDecision, other...)
		if string(a) == string(o) {
			t.Errorf("a decision differing in its %s signs the same bytes", name)
		}
	}
	z := DecisionFields("m", 1, true, time.Time{}, time.Time{}, 0)
	if string(z[3]) != string(make([]byte, 8)) {
		t.Errorf("the zero time is %x, want 0", z[3])
	}
}
