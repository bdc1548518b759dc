package alerts

import (
	"errors"
	"strings"
	"testing"
)

func TestQuoteKeepsAnAppleScriptLiteralClosed(t *testing.T) {
	for in, want := range map[string]string{
		`Tool`:                                 `"Tool"`,
		`Say "Hi"`:                             `"Say \"Hi\""`,
		`back\slash`:                           `"back\\slash"`,
		`ends with \`:                          `"ends with \\"`,
		`\"`:                                   `"\\\""`,
		"Café Crème ✓":                         `"Café Crème ✓"`,
		"two\nlines":                           `"two\nlines"`,
		`" & (do shell script "rm -rf ~") & "`: `"\" & (do shell script \"rm -rf ~\") & \""`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// The script names the app once, as a quoted literal, and bounds the wait.
func TestScript(t *testing.T) {
	s := Script(`My "Tool"`, 3)
	if !strings.HasPrefix(s, "with timeout of 3 seconds\n") || !strings.HasSuffix(s, "end timeout\n") {
		t.Errorf("the script is not bounded in time:\n%s", s)
	}
	if !strings.Contains(s, `if t contains "My \"Tool\"" and (count of text fields of w) is 0 then`) {
		t.Errorf("the app is not matched as a quoted literal:\n%s", s)
	}
	if strings.Count(s, `"My \"Tool\""`) != 1 {
		t.Error("the app's name appears more than once")
	}
	// Never a default button among several.
	if strings.Contains(s, "AXDefaultButton") || !strings.Contains(s, `return "ambiguous"`) {
		t.Errorf("the script may press a default button:\n%s", s)
	}
	if Script("x", 0) != Script("x", 1) {
		t.Error("a zero timeout is not raised to one second")
	}
}

func TestResult(t *testing.T) {
	if err := Result("dismissed\n"); err != nil {
		t.Error(err)
	}
	if err := Result("none"); !errors.Is(err, ErrNoAlert) {
		t.Errorf("none: %v", err)
	}
	if err := Result("ambiguous"); err == nil || !strings.Contains(err.Error(), "nothing was pressed") {
		t.Errorf("ambiguous: %v", err)
	}
	if err := Result("what"); err == nil {
		t.Error("an unknown result passed")
	}
}

func TestAppName(t *testing.T) {
	for path, want := range map[string]string{
		"/Applications/Tool.app/Contents/MacOS/Tool":                             "Tool",
		"/Applications/My Tool.app/Contents/MacOS/launcher":                      "My Tool",
		"/Users/a/Downloads/Outer.app/Contents/MacOS/Inner.app/Contents/MacOS/x": "Outer",
		"/usr/local/bin/tool":    "",
		"/.app/Contents/MacOS/x": "",
	} {
		got, ok := AppName(path)
		if got != want || ok != (want != "") {
			t.Errorf("AppName(%s) = %q %v, want %q", path, got, ok, want)
		}
	}
}
