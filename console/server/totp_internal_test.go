package server

import (
	"encoding/base32"
	"testing"
	"time"
)

// RFC 6238 appendix B's SHA-1 vectors (the last 6 of their 8 digits), the
// window of one step either side, and a code working once.
func TestTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
	for _, v := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		if got := totpCode(key, uint64(v.unix/30)); got != v.want {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.want)
		}
		now := time.Unix(v.unix, 0)
		step, ok := checkTOTP(secret, v.want, now, 0)
		if !ok {
			t.Errorf("T=%d: the right code refused", v.unix)
		}
		if _, ok := checkTOTP(secret, v.want, now, step); ok {
			t.Errorf("T=%d: a code used once worked again", v.unix)
		}
		if _, ok := checkTOTP(secret, v.want, now.Add(90*time.Second), 0); ok {
			t.Errorf("T=%d: a code three steps old worked", v.unix)
		}
	}
	if _, ok := checkTOTP(secret, "12345", time.Unix(59, 0), 0); ok {
		t.Error("five digits worked")
	}
	if _, ok := checkTOTP("not base32!", "287082", time.Unix(59, 0), 0); ok {
		t.Error("a broken secret worked")
	}
}
