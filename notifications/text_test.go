package notifications

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Zoom installer", 200, "Zoom installer"},
		{"invalid utf-8", "a\xffb", 200, "a\uFFFDb"},
		{"nul and controls", "a\x00b\x1bc\x7f", 200, "a b c "},
		{"newline tab cr", "a\nb\tc\r\nd", 200, "a\nb\tc\n\nd"},
		{"bidi override dropped", "invoice\u202efdp.exe", 200, "invoicefdp.exe"},
		{"zero width joiner kept", "👩\u200d💻", 200, "👩\u200d💻"},
		{"cut", "abcdef", 3, "abc…"},
		{"exact", "abc", 3, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(tt.in, tt.max); got != tt.want {
				t.Errorf("cleanText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "a\x00b", "\xff\xfe", "<b>&amp;</b>", "\u202e", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanText(s, maxTitle)
		if !utf8.ValidString(got) {
			t.Fatalf("cleanText(%q) = %q: invalid UTF-8", s, got)
		}
		if n := utf8.RuneCountInString(got); n > maxTitle+1 {
			t.Fatalf("cleanText(%q) has %d runes", s, n)
		}
		for _, r := range got {
			if r != '\n' && r != '\t' && unicode.IsControl(r) {
				t.Fatalf("cleanText(%q) = %q: control %U", s, got, r)
			}
		}
		esc := escapeMarkup(got)
		if strings.ContainsAny(esc, "<>") {
			t.Fatalf("escapeMarkup(%q) = %q", got, esc)
		}
	})
}

func TestEscapeMarkup(t *testing.T) {
	if got, want := escapeMarkup(`a & <b>"x"</b> &amp;`), `a &amp; &lt;b&gt;"x"&lt;/b&gt; &amp;amp;`; got != want {
		t.Errorf("escapeMarkup = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	ok := Notification{ID: "request-1", Actions: []Action{{Key: "approve"}, {Key: "default"}}}
	tests := []struct {
		name    string
		n       Notification
		wantErr bool
	}{
		{"ok", ok, false},
		{"untrusted text is fine", Notification{ID: "x", Title: "\x00\xff", Body: strings.Repeat("<", 1e5), Actions: []Action{{Key: "a", Label: "\xff"}}}, false},
		{"no id", Notification{}, true},
		{"nul in id", Notification{ID: "a\x00"}, true},
		{"long id", Notification{ID: strings.Repeat("a", maxID+1)}, true},
		{"empty key", Notification{ID: "x", Actions: []Action{{Label: "x"}}}, true},
		{"odd key", Notification{ID: "x", Actions: []Action{{Key: "a b"}}}, true},
		{"duplicate key", Notification{ID: "x", Actions: []Action{{Key: "a"}, {Key: "a"}}}, true},
		{"too many actions", Notification{ID: "x", Actions: make([]Action, maxActions+1)}, true},
		{"binary payload", Notification{ID: "x", Payload: "\xff"}, true},
		{"large payload", Notification{ID: "x", Payload: strings.Repeat("p", maxPayload+1)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.n.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestCleaned(t *testing.T) {
	in := Notification{ID: "x", Title: "t\x00", Body: strings.Repeat("b", maxBody+5), Actions: []Action{{Key: "k", Label: "l\xff"}}}
	got := cleaned(in)
	if got.Title != "t " || utf8.RuneCountInString(got.Body) != maxBody+1 || got.Actions[0].Label != "l\uFFFD" {
		t.Errorf("cleaned = %+v", got)
	}
	if diff := cmp.Diff("l\xff", in.Actions[0].Label); diff != "" {
		t.Errorf("cleaned changed its argument: %s", diff)
	}
}
