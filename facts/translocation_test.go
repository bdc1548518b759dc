package facts

import "testing"

func TestTranslocated(t *testing.T) {
	for path, want := range map[string]bool{
		"/private/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/AppTranslocation/0F9B2D52-7A43-4C38-9A0C-5E6F1B2C3D4E/d/Tool.app/Contents/MacOS/Tool": true,
		"/private/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/AppTranslocation/0F9B2D52-7A43-4C38-9A0C-5E6F1B2C3D4E/d/Tool.app":                     true,
		"/private/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/AppTranslocation/short/d/Tool.app":                                                    false,
		"/private/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/AppTranslocation/0F9B2D52-7A43-4C38-9A0C-5E6F1B2C3D4E/x/Tool.app":                     false,
		"/Users/a/Downloads/AppTranslocation/0F9B2D52-7A43-4C38-9A0C-5E6F1B2C3D4E/d/Tool.app":                                                           false,
		"/Applications/Tool.app/Contents/MacOS/Tool": false,
	} {
		if got := Translocated(path); got != want {
			t.Errorf("Translocated(%s) = %v, want %v", path, got, want)
		}
	}
}
