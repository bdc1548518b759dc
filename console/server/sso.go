package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/console/store"
)

// Single sign-on beside the local accounts: OpenID Connect's authorization
// code flow (go-oidc verifies the ID token: signature from the provider's
// keys, issuer, audience, expiry, and our nonce). The person must have an
// account here of the name the token's email (verified) or, without one,
// its preferred_username says: the console decides roles, not the
// provider. The account may have no password (single sign-on only).

// OIDC configures single sign-on.
type OIDC struct {
	Issuer       string // the provider's issuer URL (its discovery document is at /.well-known/openid-configuration)
	ClientID     string
	ClientSecret string
}

const (
	ssoCookie = "__Host-gatehouse-sso" // state and nonce of a sign-in under way
	ssoTTL    = 10 * time.Minute
)

// sso is the provider, found on first use (a console starts when its
// provider is away; sign-in then says so).
type sso struct {
	cfg      *OIDC
	mu       sync.Mutex
	provider *oidc.Provider
}

func (s *sso) get(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	p, err := oidc.NewProvider(ctx, s.cfg.Issuer)
	if err != nil {
		return nil, fail(http.StatusBadGateway, "the single sign-on provider %s cannot be reached: %v", s.cfg.Issuer, err)
	}
	s.provider = p
	return p, nil
}

func (s *Server) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: s.opt.OIDC.ClientID, ClientSecret: s.opt.OIDC.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: strings.TrimRight(s.opt.PublicURL, "/") + "/v1/sso/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// ssoInfo is GET /v1/sso: whether the pages offer single sign-on.
func (s *Server) ssoInfo(w http.ResponseWriter, r *http.Request) {
	s.reply(w, map[string]bool{"enabled": s.opt.OIDC != nil}, nil)
}

// ssoStart is GET /v1/sso/start: off to the provider, with a state and a
// nonce kept in a cookie for the way back.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	if s.opt.OIDC == nil {
		s.reply(w, nil, fail(http.StatusNotFound, "single sign-on is not configured on this console"))
		return
	}
	p, err := s.sso.get(r.Context())
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	state, nonce := rand.Text(), rand.Text() // base32: no "." in them
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: state + "." + nonce, Path: "/", MaxAge: int(ssoTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}) // Lax: the provider's redirect back is a top-level GET
	http.Redirect(w, r, s.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce)), http.StatusFound)
}

// ssoCallback is GET /v1/sso/callback: the provider's answer, checked,
// becomes a session of the account it names.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	who, err := s.ssoIdentity(r)
	if err == nil {
		err = s.ssoSession(w, r, who)
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if err != nil {
		var ae *apiError
		msg := err.Error()
		if !errors.As(err, &ae) {
			s.log.Warn("console: single sign-on failed", "err", err)
			msg = "single sign-on failed: " + msg
		}
		w.Header().Set("Content-Security-Policy", pagePolicy)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, msg)
		return
	}
	http.Redirect(w, r, "/", http.StatusFound)
}

// ssoIdentity checks the callback (state, code, ID token, nonce) and
// returns the account name the token names.
func (s *Server) ssoIdentity(r *http.Request) (string, error) {
	if s.opt.OIDC == nil {
		return "", fail(http.StatusNotFound, "single sign-on is not configured on this console")
	}
	c, err := r.Cookie(ssoCookie)
	state, nonce, ok := strings.Cut(func() string {
		if err != nil {
			return ""
		}
		return c.Value
	}(), ".")
	if !ok || subtle.ConstantTimeCompare([]byte(state), []byte(r.URL.Query().Get("state"))) != 1 {
		return "", fail(http.StatusForbidden, "the single sign-on answer does not belong to a sign-in started here (or it took over %v): start again", ssoTTL)
	}
	if e := r.URL.Query().Get("error"); e != "" {
		return "", fail(http.StatusForbidden, "the provider refused the sign-in: %s %s", e, r.URL.Query().Get("error_description"))
	}
	p, err := s.sso.get(r.Context())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	tok, err := s.oauth(p).Exchange(ctx, r.URL.Query().Get("code"))
	if err != nil {
		return "", fmt.Errorf("the code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return "", errors.New("the provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: s.opt.OIDC.ClientID}).Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("the ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return "", errors.New("the ID token's nonce is not this sign-in's")
	}
	var claims struct {
		Email             string `json:"email"`
		EmailVerified     *bool  `json:"email_verified"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("the ID token's claims: %w", err)
	}
	switch {
	case claims.Email != "" && (claims.EmailVerified == nil || *claims.EmailVerified):
		return claims.Email, nil
	case claims.PreferredUsername != "":
		return claims.PreferredUsername, nil
	}
	return "", fail(http.StatusForbidden, "the provider's answer names nobody (no verified email, no preferred_username)")
}

// ssoSession signs in account name.
func (s *Server) ssoSession(w http.ResponseWriter, r *http.Request, name string) error {
	u, err := s.st.GetUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		s.st.Record(r.Context(), s.now(), name, "sign-in-refused", "single sign-on for a name with no account here")
		return fail(http.StatusForbidden, "%s has no account on this console: an administrator adds it (gatehouse-console user add --name %s --role …)", name, name)
	}
	if err != nil {
		return err
	}
	_, err = s.startSession(w, r, u)
	return err
}
