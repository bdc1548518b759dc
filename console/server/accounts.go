package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse/console/store"
)

// People sign in to the console's pages with a local account: a password
// hashed with argon2id, a session in a cookie (__Host-: Secure, HttpOnly,
// SameSite=Strict, path /), and for every call that changes something the
// session's CSRF token in the X-CSRF-Token header. maxFailures failed
// sign-ins in a row lock the account for lockFor. Roles are the API
// tokens' and are checked on the server for every call.
const (
	sessionCookie = "__Host-gatehouse-session"
	csrfHeader    = "X-CSRF-Token"
	sessionTTL    = 12 * time.Hour
	maxFailures   = 5
	lockFor       = 15 * time.Minute
)

// argon2id parameters (RFC 9106's second recommended set, with 64 MiB).
const (
	argonTime    = 3
	argonMemory  = 64 << 10 // KiB
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword is password's argon2id hash in PHC form
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether password hashes to phc (the parameters
// are phc's own, so that hashes made with older ones still work).
func checkPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<18 || t == 0 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// unknownUser is checked against when the name is unknown, so that a
// sign-in takes as long whether the account exists or not.
var unknownUser = HashPassword("no such user")

// SignIn is POST /v1/session.
type SignIn struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// Code is the one-time code of an account with a second factor.
	Code string `json:"code,omitempty"`
}

// SessionWire is who is signed in, with the CSRF token the pages send
// back on every change.
type SessionWire struct {
	User    string    `json:"user"`
	Role    string    `json:"role"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	var in SignIn
	if err := decode(w, r, &in); err != nil {
		s.reply(w, nil, err)
		return
	}
	now := s.now()
	refused := fail(http.StatusUnauthorized, "the name or the password is not right")
	u, err := s.st.GetUser(r.Context(), in.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		checkPassword(unknownUser, in.Password)
		s.reply(w, nil, refused)
		return
	case err != nil:
		s.reply(w, nil, err)
		return
	case u.Disabled || u.Password == "":
		checkPassword(unknownUser, in.Password)
		s.reply(w, nil, refused)
		return
	case now.Before(u.LockedUntil):
		s.reply(w, nil, fail(http.StatusTooManyRequests, "too many failed sign-ins: the account is locked until %s; an administrator can set a new password sooner", u.LockedUntil.UTC().Format("15:04 MST")))
		return
	}
	ok := checkPassword(u.Password, in.Password)
	if ok && u.TOTPSecret != "" {
		if in.Code == "" {
			// Not a failure: the page asks for the code and sends both again.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": "enter the one-time code from your authenticator app", "code_required": true})
			return
		}
		step, good := checkTOTP(u.TOTPSecret, in.Code, now, u.TOTPUsed)
		if good {
			if good, err = s.st.UseTOTP(r.Context(), u.Name, step); err != nil {
				s.reply(w, nil, err)
				return
			}
		}
		ok = good
		refused = fail(http.StatusUnauthorized, "the one-time code is not right (or was used already): wait for the next one")
	}
	if !ok {
		locked, err := s.st.LoginFailed(r.Context(), u.Name, now, maxFailures, lockFor)
		if err != nil {
			s.reply(w, nil, err)
			return
		}
		if locked {
			s.log.Warn("console: account locked after failed sign-ins", "user", u.Name)
			s.reply(w, nil, fail(http.StatusTooManyRequests, "too many failed sign-ins: the account is locked for %v", lockFor))
			return
		}
		s.reply(w, nil, refused)
		return
	}
	ss, err := s.startSession(w, r, u)
	s.reply(w, ss, err)
}

// startSession signs u in: a new session stored (by its cookie's hash),
// its cookie set on w.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User) (SessionWire, error) {
	cookie, csrf := NewToken(), NewToken()
	now := s.now()
	exp := now.Add(sessionTTL)
	if err := s.st.NewSession(r.Context(), HashToken(cookie), u.Name, csrf, now, exp); err != nil {
		return SessionWire{}, err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: cookie, Path: "/", Expires: exp, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return SessionWire{User: u.Name, Role: u.Role, CSRF: csrf, Expires: exp}, nil
}

// session is the request's live session, from its cookie.
func (s *Server) session(r *http.Request) (store.Session, string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return store.Session{}, "", fail(http.StatusUnauthorized, "not signed in")
	}
	hash := HashToken(c.Value)
	ss, err := s.st.GetSession(r.Context(), hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, "", fail(http.StatusUnauthorized, "the session has ended: sign in again")
	}
	return ss, hash, err
}

func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	ss, _, err := s.session(r)
	s.reply(w, SessionWire{User: ss.User, Role: ss.Role, CSRF: ss.CSRF, Expires: ss.Expires}, err)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	ss, hash, err := s.session(r)
	if err == nil {
		err = checkCSRF(r, ss)
	}
	if err == nil {
		err = s.st.EndSession(r.Context(), hash)
	}
	if err == nil {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	s.reply(w, map[string]bool{"signed_out": err == nil}, err)
}

// checkCSRF refuses a call that changes something without the session's
// CSRF token (a page of another site cannot read it).
func checkCSRF(r *http.Request, ss store.Session) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(ss.CSRF)) != 1 {
		return fail(http.StatusForbidden, "the call lacks the session's CSRF token (%s): reload the page", csrfHeader)
	}
	return nil
}

// caller is who makes an admin call: an API token's holder, or a signed-in
// person (whose changes must carry the CSRF token).
func (s *Server) caller(r *http.Request) (store.Token, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return store.Token{}, fail(http.StatusUnauthorized, "send Authorization: Bearer <API token> (gatehouse-console token create)")
		}
		who, err := s.st.APIToken(r.Context(), HashToken(tok))
		if errors.Is(err, store.ErrNotFound) {
			err = fail(http.StatusUnauthorized, "the API token is unknown or revoked")
		}
		return who, err
	}
	if _, err := r.Cookie(sessionCookie); err != nil {
		return store.Token{}, fail(http.StatusUnauthorized, "not signed in: sign in, or send Authorization: Bearer <API token> (gatehouse-console token create)")
	}
	ss, _, err := s.session(r)
	if err != nil {
		return store.Token{}, err
	}
	if err := checkCSRF(r, ss); err != nil {
		return store.Token{}, err
	}
	return store.Token{Name: ss.User, Role: ss.Role}, nil
}

// AddUser makes an account (gatehouse-console user add): with a password,
// or with "" one that signs in only through single sign-on.
func AddUser(ctx context.Context, st *store.Store, name, role, password, by string, now time.Time) error {
	if name == "" || len(name) > 100 || strings.ContainsAny(name, " \t\n/") {
		return fmt.Errorf("the name %q: 1 to 100 characters, no spaces or slashes", name)
	}
	if !slices.Contains(RoleNames, role) {
		return fmt.Errorf("the role %q: one of %s", role, strings.Join(RoleNames, ", "))
	}
	hash := ""
	if password != "" {
		var err error
		if hash, err = passwordHash(password); err != nil {
			return err
		}
	}
	return st.AddUser(ctx, store.User{Name: name, Role: role, Password: hash}, by, now)
}

// SetPassword gives account name a new password (which also unlocks it and
// ends its sessions: gatehouse-console user password).
func SetPassword(ctx context.Context, st *store.Store, name, password, by string, now time.Time) error {
	hash, err := passwordHash(password)
	if err != nil {
		return err
	}
	return st.SetPassword(ctx, name, hash, by, now)
}

// passwordHash is password's hash, if it is long enough to be one.
func passwordHash(password string) (string, error) {
	if len(password) < 12 {
		return "", errors.New("the password needs at least 12 characters")
	}
	return HashPassword(password), nil
}
