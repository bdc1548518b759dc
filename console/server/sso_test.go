package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
)

// provider is a small OpenID Connect provider for the test: discovery,
// keys, an authorization endpoint that signs in whoever the test says at
// once, and a token endpoint issuing RS256 ID tokens.
type provider struct {
	*httptest.Server
	key      *rsa.PrivateKey
	clientID string
	secret   string

	mu     sync.Mutex
	email  string // whom the next sign-in is
	nonces map[string]string
	nonce  string // when set, the ID token carries this nonce instead
}

func newProvider(t *testing.T, clientID, secret string) *provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{key: key, clientID: clientID, secret: secret, nonces: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
			"jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID || q.Get("response_type") != "code" {
			http.Error(w, "bad authorization request", 400)
			return
		}
		code := server.NewToken()
		p.mu.Lock()
		p.nonces[code] = q.Get("nonce")
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		v := back.Query()
		v.Set("code", code)
		v.Set("state", q.Get("state"))
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		id, sec, ok := r.BasicAuth()
		if !ok {
			id, sec = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		p.mu.Lock()
		nonce, known := p.nonces[r.FormValue("code")]
		delete(p.nonces, r.FormValue("code"))
		email := p.email
		if p.nonce != "" {
			nonce = p.nonce
		}
		p.mu.Unlock()
		if id != clientID || sec != secret || !known {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		now := time.Now()
		tok, _ := jwt.Signed(signer).Claims(map[string]any{"iss": p.URL, "sub": "user-" + email, "aud": clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"nonce": nonce, "email": email, "email_verified": true}).Serialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": tok})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

func (p *provider) as(email string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.email = email
}

// Single sign-on beside the local accounts: the provider's ID token
// (verified: its keys, issuer, audience, our nonce) signs in the account
// its verified email names; a name with no account here, a forged nonce
// and an answer to a sign-in not started here are refused.
func TestSingleSignOn(t *testing.T) {
	p := newProvider(t, "gatehouse-console", "s3cret")
	c := consoletest.Start(t, t.TempDir(), server.Options{OIDC: &server.OIDC{Issuer: p.URL, ClientID: "gatehouse-console", ClientSecret: "s3cret"}})
	ctx := context.Background()
	if err := server.AddUser(ctx, c.Store, "alice@example.com", "approver", "", "test", time.Now()); err != nil { // single sign-on only
		t.Fatal(err)
	}
	browse := func() (*http.Client, func(path string) (int, string)) {
		jar, _ := cookiejar.New(nil)
		hc := c.HTTP()
		hc.Jar = jar
		return hc, func(path string) (int, string) {
			resp, err := hc.Get(c.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
	}
	var info map[string]bool
	_, get := browse()
	if _, body := get("/v1/sso"); json.Unmarshal([]byte(body), &info) != nil || !info["enabled"] {
		t.Errorf("GET /v1/sso: %s", body)
	}
	p.as("alice@example.com")
	_, get = browse()
	if code, body := get("/v1/sso/start"); code != 200 || !strings.Contains(body, "Gatehouse console") {
		t.Fatalf("the sign-in through the provider ended %d: %.200s", code, body)
	}
	code, body := get("/v1/session")
	var s server.SessionWire
	if json.Unmarshal([]byte(body), &s); code != 200 || s.User != "alice@example.com" || s.Role != "approver" || s.CSRF == "" {
		t.Fatalf("the session after single sign-on: %d %s", code, body)
	}
	p.as("mallory@example.com")
	_, get = browse()
	if code, body := get("/v1/sso/start"); code != 403 || !strings.Contains(body, "has no account on this console") {
		t.Errorf("a name with no account: %d %q", code, body)
	}
	p.as("alice@example.com")
	p.mu.Lock()
	p.nonce = "forged"
	p.mu.Unlock()
	_, get = browse()
	if code, body := get("/v1/sso/start"); code != 403 || !strings.Contains(body, "nonce") {
		t.Errorf("a forged nonce: %d %q", code, body)
	}
	_, get = browse()
	if code, body := get("/v1/sso/callback?code=x&state=y"); code != 403 || !strings.Contains(body, "does not belong to a sign-in started here") {
		t.Errorf("an answer to no sign-in: %d %q", code, body)
	}
	// A single-sign-on-only account (no password) cannot sign in with one.
	b := newBrowser(t, c)
	if code := b.signIn("alice@example.com", ""); code != 401 {
		t.Errorf("a password sign-in for a single-sign-on account: %d", code)
	}
}
