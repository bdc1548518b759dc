// Package server is the console's HTTPS API: endpoints enroll with a token
// and from then on are known by the client certificate the console issued
// them (never by anything in a request body); they upload approval
// requests and keep a long poll open for the decisions on them, which
// reach them as soon as they are made (no polling interval), signed by the
// console. People and tools use the admin API with a bearer token whose
// role (admin, approver, helpdesk, auditor) decides what they may do;
// every change is audited with who made it.
//
// This is the console's first step: one node on SQLite. PostgreSQL with
// LISTEN/NOTIFY across nodes, policy push, audit upload and the offline
// tool come next (docs/console.md).
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/offline"
	"github.com/gatehouse/gatehouse/policy"
)

// Options configure a Server.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// ClientCertLifetime is how long an issued machine certificate lasts
	// (default 90 days).
	ClientCertLifetime time.Duration
	// MaxWait bounds an endpoint's long poll (default 25 s).
	MaxWait time.Duration
	// Keep persists the authority after a signing-key rotation (KeepInDir,
	// KeepInStore); nil refuses rotations.
	Keep Keeper
	// PublicURL is where people reach the console's pages, for the links
	// in notifications (default https://localhost:8443).
	PublicURL string
	// SMTP sends e-mail notifications; nil sends none.
	SMTP *SMTP
	// NotifyRetry is the first wait before a failed notification is sent
	// again (default 10 s; it doubles, up to an hour).
	NotifyRetry time.Duration
	// OIDC enables single sign-on beside the local accounts (sso.go).
	OIDC *OIDC
}

// Keeper persists the console's authority; by and detail are for the
// audit.
type Keeper func(ctx context.Context, a *pki.Authority, by, detail string) error

// KeepInDir keeps the authority in dir (a console on SQLite: its pki/),
// auditing the change in st.
func KeepInDir(dir string, st *store.Store, now func() time.Time) Keeper {
	return func(ctx context.Context, a *pki.Authority, by, detail string) error {
		if err := a.Save(dir); err != nil {
			return err
		}
		return st.Record(ctx, now(), by, "signing-key", detail)
	}
}

// KeepInStore keeps the authority in st (a console on PostgreSQL), where
// every node reloads it.
func KeepInStore(st *store.Store, now func() time.Time) Keeper {
	return func(ctx context.Context, a *pki.Authority, by, detail string) error {
		files, err := a.Files()
		if err != nil {
			return err
		}
		return st.SavePKI(ctx, files, by, detail, now())
	}
}

// Server serves the console's API.
type Server struct {
	st    *store.Store
	ca    *pki.Authority
	log   *slog.Logger
	now   func() time.Time
	opt   Options
	hub   hub
	queue *queue // the pages' request queue (web.go)
	sso   sso
}

// New returns a server over st, with ca's keys.
func New(st *store.Store, ca *pki.Authority, opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ClientCertLifetime == 0 {
		opt.ClientCertLifetime = 90 * 24 * time.Hour
	}
	if opt.MaxWait == 0 {
		opt.MaxWait = 25 * time.Second
	}
	if opt.NotifyRetry == 0 {
		opt.NotifyRetry = 10 * time.Second
	}
	if opt.PublicURL == "" {
		opt.PublicURL = "https://localhost:8443"
	}
	s := &Server{st: st, ca: ca, log: opt.Logger, now: opt.Now, opt: opt, hub: hub{waiters: map[string]chan struct{}{}}, queue: newQueue(), sso: sso{cfg: opt.OIDC}}
	// Decisions and policies stored by this node or, on PostgreSQL, by
	// any other wake the long polls waiting here.
	st.Watch(func(machine string) {
		switch machine {
		case "":
			s.hub.wakeAll()
			s.queue.bump()
		case store.PKIChanged:
			go s.reloadSigning()
		case store.RequestsChanged:
			s.queue.bump()
		default:
			s.hub.wake(machine)
		}
	})
	return s
}

// reloadSigning takes the signing keys another node saved after a rotation
// (on SQLite there is one node, which rotated them itself).
func (s *Server) reloadSigning() {
	if !s.st.Postgres() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	files, err := s.st.PKI(ctx)
	if err == nil {
		err = s.ca.ReloadSigning(files, "the console database's pki table")
	}
	if err != nil {
		s.log.Error("console: could not take the signing keys another node saved; restart this node", "err", err)
		return
	}
	s.log.Info("console: signing keys reloaded", "keys", len(s.ca.SigningPublics()))
	s.hub.wakeAll() // polls waiting here carry the new statement
}

// SharedAuthority is the console's CA and signing keys as its database
// holds them, made there on the first start: for consoles on PostgreSQL,
// whose nodes must all have the same (a console on SQLite keeps them in
// its data directory, pki.LoadOrCreate).
//
// own, when not nil, is the authority to store on the first start (an
// administrator's own CA, pki.FromCA) instead of a new one; a database
// holding another CA already is then an error.
func SharedAuthority(ctx context.Context, st *store.Store, now time.Time, own *pki.Authority) (a *pki.Authority, created bool, err error) {
	files, created, err := st.InitPKI(ctx, now, func() (map[string][]byte, error) {
		if own != nil {
			return own.Files()
		}
		a, err := pki.Create(now)
		if err != nil {
			return nil, err
		}
		return a.Files()
	})
	if err != nil {
		return nil, false, err
	}
	if a, err = pki.FromFiles(files, "the console database's pki table"); err != nil {
		return nil, false, err
	}
	if own != nil && own.CAHash() != a.CAHash() {
		return nil, false, fmt.Errorf("the database holds another CA already (sha256 %s), which enrolled machines pin; the CA given is not imported", a.CAHash())
	}
	return a, created, nil
}

// TLSConfig is the listener's: the server certificate, and client
// certificates asked for and verified against the console's CA when given
// (enrollment comes without one; the endpoint API refuses requests
// without).
func (s *Server) TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    s.ca.ClientCAs(),
		MinVersion:   tls.VersionTLS13,
	}
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/enroll", s.enroll)
	mux.HandleFunc("POST /v1/endpoint/requests", s.endpoint(s.uploadRequest))
	mux.HandleFunc("GET /v1/endpoint/decisions", s.endpoint(s.pollDecisions))
	mux.HandleFunc("POST /v1/endpoint/events", s.endpoint(s.uploadEvents))
	mux.HandleFunc("POST /v1/endpoint/versions", s.endpoint(s.reportVersions))
	mux.HandleFunc("GET /v1/endpoint/policy", s.endpoint(s.pollPolicy))
	mux.HandleFunc("POST /v1/endpoint/renew", s.endpoint(s.renew))
	mux.HandleFunc("POST /v1/admin/policies", s.admin(roleAdminOp, s.uploadPolicy))
	mux.HandleFunc("POST /v1/admin/assignments", s.admin(roleAdminOp, s.assign))
	mux.HandleFunc("GET /v1/admin/events", s.admin(roleRead, s.listEvents))
	mux.HandleFunc("POST /v1/admin/enroll-tokens", s.admin(roleAdminOp, s.makeEnrollToken))
	mux.HandleFunc("GET /v1/admin/requests", s.admin(roleRead, s.listRequests))
	mux.HandleFunc("POST /v1/admin/requests/{id}/decide", s.admin(roleApprove, s.decide))
	mux.HandleFunc("GET /v1/admin/machines", s.admin(roleRead, s.listMachines))
	mux.HandleFunc("POST /v1/admin/machines/{id}/revoke", s.admin(roleAdminOp, s.revoke))
	mux.HandleFunc("POST /v1/admin/offline-code", s.admin(roleOffline, s.offlineCode))
	mux.HandleFunc("POST /v1/admin/signing-key/rotate", s.admin(roleAdminOp, s.rotateSigning(true)))
	mux.HandleFunc("POST /v1/admin/signing-key/finish", s.admin(roleAdminOp, s.rotateSigning(false)))
	mux.HandleFunc("POST /v1/session", s.signIn)
	mux.HandleFunc("GET /v1/session", s.whoAmI)
	mux.HandleFunc("DELETE /v1/session", s.signOut)
	mux.HandleFunc("GET /v1/sso", s.ssoInfo)
	mux.HandleFunc("GET /v1/sso/start", s.ssoStart)
	mux.HandleFunc("GET /v1/sso/callback", s.ssoCallback)
	mux.HandleFunc("GET /v1/admin/requests/changes", s.admin(roleRead, s.queueChanges))
	mux.HandleFunc("GET /v1/admin/policies", s.admin(roleRead, s.listPolicies))
	mux.HandleFunc("GET /v1/admin/policies/{name}", s.admin(roleRead, s.policyHistory))
	mux.HandleFunc("POST /v1/admin/policies/lint", s.admin(roleRead, s.lintPolicy))
	mux.HandleFunc("POST /v1/admin/policies/{name}/rollback", s.admin(roleAdminOp, s.rollback))
	mux.HandleFunc("GET /v1/admin/assignments", s.admin(roleRead, s.listAssignments))
	mux.HandleFunc("POST /v1/admin/whatif", s.admin(roleRead, s.whatIf))
	mux.HandleFunc("POST /v1/admin/notifiers", s.admin(roleAdminOp, s.addNotifier))
	mux.HandleFunc("GET /v1/admin/notifiers", s.admin(roleRead, s.listNotifiers))
	mux.HandleFunc("DELETE /v1/admin/notifiers/{id}", s.admin(roleAdminOp, s.deleteNotifier))
	mux.HandleFunc("GET /", s.pages)
	return mux
}

// maxBody bounds every request body.
const maxBody = 64 << 10

// apiError is an error the client sees, with its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func fail(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var ae *apiError
		switch {
		case errors.As(err, &ae):
		case errors.Is(err, store.ErrNotFound):
			ae = &apiError{http.StatusNotFound, err.Error()}
		case errors.Is(err, store.ErrToken), errors.Is(err, store.ErrDecided), errors.Is(err, store.ErrVoted), errors.Is(err, store.ErrStale):
			ae = &apiError{http.StatusConflict, err.Error()}
		default:
			s.log.Error("console API", "err", err)
			ae = &apiError{http.StatusInternalServerError, "internal error; see the console's log"}
		}
		w.WriteHeader(ae.status)
		json.NewEncoder(w).Encode(map[string]string{"error": ae.msg})
		return
	}
	json.NewEncoder(w).Encode(v)
}

// decode reads a strict JSON body of at most maxBody bytes into v.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeUpTo(w, r, v, maxBody)
}

// decodeUpTo is decode with another limit.
func decodeUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return fail(http.StatusRequestEntityTooLarge, "the body is over %d bytes", limit)
		}
		return fail(http.StatusBadRequest, "the body is not the JSON this call takes: %v", err)
	}
	if dec.More() {
		return fail(http.StatusBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// An enrollment token is what `gatehoused enroll` is given: "gh1.<secret>.<ca hash>".
// The secret enrolls (its SHA-256 is stored); the CA hash lets the
// endpoint trust the console on first contact without a leap of faith.
const tokenPrefix = "gh1."

// ParseEnrollToken splits a token into its secret and the CA hash.
func ParseEnrollToken(tok string) (secret []byte, caHash string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(tok), tokenPrefix)
	enc, hash, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return nil, "", errors.New("not a Gatehouse enrollment token (gh1.…): copy the whole token the console gave")
	}
	secret, err = base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(secret) != 32 {
		return nil, "", errors.New("the enrollment token's secret is damaged: copy the whole token the console gave")
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return nil, "", errors.New("the enrollment token's CA hash is damaged: copy the whole token the console gave")
	}
	return secret, hash, nil
}

// EnrollSecretHash is how an enrollment token's secret is stored.
func EnrollSecretHash(secret []byte) string {
	h := sha256.Sum256(secret)
	return hex.EncodeToString(h[:])
}

// FormatEnrollToken is the token for secret, made by the console with CA
// hash caHash.
func FormatEnrollToken(secret []byte, caHash string) string {
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(secret) + "." + caHash
}

// EnrollRequest is POST /v1/enroll.
type EnrollRequest struct {
	Token    string `json:"token"`
	CSR      []byte `json:"csr"` // DER, base64 in JSON
	Hostname string `json:"hostname"`
	// OfflineName is the machine's name in its offline challenges
	// (default Hostname): response codes are bound to it.
	OfflineName string `json:"offline_name,omitempty"`
	// OfflineSecret is escrowed, for the help desk's response codes.
	OfflineSecret []byte `json:"offline_secret,omitempty"`
}

// EnrollResponse is the machine's identity and what it pins.
type EnrollResponse struct {
	MachineID   string   `json:"machine_id"`
	Certificate []byte   `json:"certificate"` // DER
	CA          []byte   `json:"ca"`          // PEM
	SigningKeys [][]byte `json:"signing_keys"`
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var req EnrollRequest
	if err := decode(w, r, &req); err != nil {
		s.reply(w, nil, err)
		return
	}
	secret, caHash, err := ParseEnrollToken(req.Token)
	if err != nil {
		s.reply(w, nil, fail(http.StatusBadRequest, "%v", err))
		return
	}
	if caHash != s.ca.CAHash() {
		s.reply(w, nil, fail(http.StatusBadRequest, "the enrollment token was made by another console (its CA hash is not this one's)"))
		return
	}
	if req.Hostname == "" || len(req.Hostname) > 253 {
		s.reply(w, nil, fail(http.StatusBadRequest, "hostname is empty or longer than 253 characters"))
		return
	}
	if len(req.OfflineName) > 253 {
		s.reply(w, nil, fail(http.StatusBadRequest, "offline_name is longer than 253 characters"))
		return
	}
	id := newID()
	now := s.now()
	cert, err := s.ca.IssueClient(req.CSR, id, s.opt.ClientCertLifetime, now)
	if err != nil {
		s.reply(w, nil, fail(http.StatusBadRequest, "the certificate request: %v", err))
		return
	}
	if _, err := s.st.Enroll(r.Context(), EnrollSecretHash(secret), store.Machine{ID: id, Hostname: req.Hostname, OfflineName: req.OfflineName, OfflineSecret: req.OfflineSecret}, now); err != nil {
		s.reply(w, nil, err)
		return
	}
	var keys [][]byte
	for _, k := range s.ca.SigningPublics() {
		keys = append(keys, k)
	}
	s.log.Info("machine enrolled", "machine", id, "hostname", req.Hostname)
	s.reply(w, EnrollResponse{MachineID: id, Certificate: cert, CA: s.ca.CAPEM(), SigningKeys: keys}, nil)
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(b[:])
}

// endpoint wraps a handler of the endpoint API: the machine is the one its
// verified client certificate names, enrolled and not revoked.
func (s *Server) endpoint(h func(w http.ResponseWriter, r *http.Request, m store.Machine)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			s.reply(w, nil, fail(http.StatusUnauthorized, "no client certificate: the endpoint API is for enrolled machines (sudo gatehoused enroll URL TOKEN)"))
			return
		}
		id, err := pki.MachineID(r.TLS.VerifiedChains[0][0])
		if err != nil {
			s.reply(w, nil, fail(http.StatusUnauthorized, "the client certificate names no machine: %v", err))
			return
		}
		m, err := s.st.Machine(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			s.reply(w, nil, fail(http.StatusUnauthorized, "machine %s is not enrolled here", id))
			return
		}
		if err != nil {
			s.reply(w, nil, err)
			return
		}
		if m.Revoked {
			s.reply(w, nil, fail(http.StatusForbidden, "machine %s was revoked: enroll it again with a new token", id))
			return
		}
		_ = s.st.Seen(r.Context(), id, s.now())
		h(w, r, m)
	}
}

// RequestUpload is POST /v1/endpoint/requests: an approval request as the
// endpoint made it.
type RequestUpload struct {
	EndpointID      int64           `json:"endpoint_id"`
	Created         time.Time       `json:"created"`
	UID             uint32          `json:"uid"`
	User            string          `json:"user"`
	Kind            string          `json:"kind"`
	Path            string          `json:"path"`
	SHA256          string          `json:"sha256,omitempty"`
	Facts           json.RawMessage `json:"facts,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	WindowStart     time.Time       `json:"window_start,omitzero"`
	WindowEnd       time.Time       `json:"window_end,omitzero"`
	Rule            int             `json:"rule,omitempty"`
	PolicyRevision  int64           `json:"policy_revision,omitempty"`
	ApprovalsNeeded int             `json:"approvals_needed,omitempty"`
}

func (s *Server) uploadRequest(w http.ResponseWriter, r *http.Request, m store.Machine) {
	var u RequestUpload
	if err := decode(w, r, &u); err != nil {
		s.reply(w, nil, err)
		return
	}
	switch {
	case u.EndpointID <= 0:
		s.reply(w, nil, fail(http.StatusBadRequest, "endpoint_id must be the request's id on the machine (1 or more)"))
		return
	case u.Path == "" || u.User == "" || u.Kind == "":
		s.reply(w, nil, fail(http.StatusBadRequest, "path, user and kind are required"))
		return
	case u.ApprovalsNeeded < 0 || u.ApprovalsNeeded > 10:
		s.reply(w, nil, fail(http.StatusBadRequest, "approvals_needed must be 0 to 10"))
		return
	}
	facts := "{}"
	if len(u.Facts) > 0 {
		facts = string(u.Facts)
	}
	id, created, err := s.st.PutRequest(r.Context(), store.Request{MachineID: m.ID, EndpointID: u.EndpointID, Created: u.Created,
		UID: u.UID, User: u.User, Kind: u.Kind, Path: u.Path, SHA256: u.SHA256, Facts: facts, Reason: u.Reason,
		WindowStart: u.WindowStart, WindowEnd: u.WindowEnd, Rule: u.Rule, PolicyRevision: u.PolicyRevision, ApprovalsNeeded: u.ApprovalsNeeded})
	s.reply(w, map[string]any{"id": id, "created": created}, err)
}

// DecisionWire is one decision as an endpoint receives it.
type DecisionWire struct {
	Seq            int64     `json:"seq"`
	EndpointID     int64     `json:"endpoint_id"`
	Approve        bool      `json:"approve"`
	WindowStart    time.Time `json:"window_start,omitzero"`
	WindowEnd      time.Time `json:"window_end,omitzero"`
	PolicyRevision int64     `json:"policy_revision"`
	DecidedBy      string    `json:"decided_by"`
	Note           string    `json:"note,omitempty"`
	Signature      []byte    `json:"signature"`
}

// sign signs a decision for its machine.
func (s *Server) sign(d *store.Decision) []byte {
	return s.ca.Sign(signed.KindDecision, signed.DecisionFields(d.MachineID, d.EndpointID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)...)
}

func (s *Server) pollDecisions(w http.ResponseWriter, r *http.Request, m store.Machine) {
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil && r.URL.Query().Get("after") != "" {
		s.reply(w, nil, fail(http.StatusBadRequest, "after must be a decision sequence number"))
		return
	}
	s.longPoll(w, r, m, func(ctx context.Context) (any, bool, error) {
		ds, err := s.st.Decisions(ctx, m.ID, after, 100)
		out := make([]DecisionWire, 0, len(ds))
		for _, d := range ds {
			out = append(out, DecisionWire{Seq: d.Seq, EndpointID: d.EndpointID, Approve: d.Approve, WindowStart: d.WindowStart,
				WindowEnd: d.WindowEnd, PolicyRevision: d.PolicyRevision, DecidedBy: d.DecidedBy, Note: d.Note, Signature: d.Signature})
		}
		return map[string]any{"decisions": out, "signing_keys": s.keysStatement()}, len(ds) > 0, err
	})
}

// KeysWire is the console's signing keys during a rotation, signed by the
// previous key (pki.KeysStatement); endpoint replies carry it until the
// rotation is finished.
type KeysWire struct {
	Keys      [][]byte `json:"keys"`
	Signature []byte   `json:"signature"`
}

func (s *Server) keysStatement() *KeysWire {
	keys, sig, ok := s.ca.KeysStatement()
	if !ok {
		return nil
	}
	return &KeysWire{Keys: keys, Signature: sig}
}

// rotateSigning starts a rotation (a new signing key, the previous one
// kept and announcing it: KeysWire) or finishes one (the previous key
// dropped). It works on a copy kept first, so that a key never signs
// before it is safe on disk or in the database.
func (s *Server) rotateSigning(start bool) func(http.ResponseWriter, *http.Request, store.Token) {
	return func(w http.ResponseWriter, r *http.Request, who store.Token) {
		if s.opt.Keep == nil {
			s.reply(w, nil, fail(http.StatusConflict, "this console cannot keep rotated keys"))
			return
		}
		files, err := s.ca.Files()
		if err != nil {
			s.reply(w, nil, err)
			return
		}
		next, err := pki.FromFiles(files, "the running console")
		if err != nil {
			s.reply(w, nil, err)
			return
		}
		detail := "rotation started: a new signing key, the previous one announcing it"
		if start {
			if err := next.RotateSigning(); err != nil {
				s.reply(w, nil, fail(http.StatusConflict, "%v", err))
				return
			}
		} else {
			if len(next.SigningPublics()) < 2 {
				s.reply(w, nil, fail(http.StatusConflict, "no rotation is in progress"))
				return
			}
			next.DropOldSigning()
			detail = "rotation finished: the previous signing key dropped"
		}
		if err := s.opt.Keep(r.Context(), next, who.Name, detail); err != nil {
			s.reply(w, nil, err)
			return
		}
		nf, err := next.Files()
		if err == nil {
			err = s.ca.ReloadSigning(nf, "the rotated keys")
		}
		if err != nil {
			s.reply(w, nil, err)
			return
		}
		s.log.Info("console: "+detail, "by", who.Name)
		s.hub.wakeAll()
		var keys [][]byte
		for _, k := range s.ca.SigningPublics() {
			keys = append(keys, k)
		}
		s.reply(w, map[string]any{"signing_keys": keys, "overlap": len(keys) > 1}, nil)
	}
}

// longPoll answers a machine's long poll: look says what there is for it
// and whether that is an answer; until it is, the poll waits for the
// machine's hub to wake it, up to the request's wait (at most MaxWait),
// and then replies with what look gave last.
func (s *Server) longPoll(w http.ResponseWriter, r *http.Request, m store.Machine, look func(context.Context) (reply any, ok bool, err error)) {
	wait := s.opt.MaxWait
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			s.reply(w, nil, fail(http.StatusBadRequest, "wait must be a duration like 25s"))
			return
		}
		wait = min(d, s.opt.MaxWait)
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	for {
		changed := s.hub.watch(m.ID) // before looking: a change made meanwhile wakes us
		out, ok, err := look(r.Context())
		if err != nil {
			if r.Context().Err() != nil {
				return // the machine hung up
			}
			s.reply(w, nil, err)
			return
		}
		if ok || ctx.Err() != nil {
			s.reply(w, out, nil)
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}

// hub wakes the long polls of a machine when a decision for it is stored.
// (One node: across nodes, PostgreSQL's NOTIFY will wake it.)
type hub struct {
	mu      sync.Mutex
	waiters map[string]chan struct{}
}

// watch returns a channel closed at the machine's next decision.
func (h *hub) watch(machine string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.waiters[machine]
	if !ok {
		ch = make(chan struct{})
		h.waiters[machine] = ch
	}
	return ch
}

// wakeAll wakes every machine's polls (a policy or an assignment changed).
func (h *hub) wakeAll() {
	h.mu.Lock()
	ws := h.waiters
	h.waiters = map[string]chan struct{}{}
	h.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}

func (h *hub) wake(machine string) {
	h.mu.Lock()
	ch, ok := h.waiters[machine]
	delete(h.waiters, machine)
	h.mu.Unlock()
	if ok {
		close(ch)
	}
}

// Roles, and what each may do.
const (
	roleAdmin    = "admin"
	roleApprover = "approver"
	roleHelpdesk = "helpdesk"
	roleAuditor  = "auditor"
)

// Rights a handler needs.
type right int

const (
	roleRead    right = iota // list requests and machines
	roleApprove              // vote on requests
	roleOffline              // make offline response codes
	roleAdminOp              // everything else
)

// RoleNames are the roles an API token may have.
var RoleNames = []string{roleAdmin, roleApprover, roleHelpdesk, roleAuditor}

func allowed(role string, need right) bool {
	switch role {
	case roleAdmin:
		return true
	case roleApprover:
		return need == roleRead || need == roleApprove
	case roleHelpdesk:
		return need == roleRead || need == roleOffline
	case roleAuditor:
		return need == roleRead
	}
	return false
}

// HashToken is how API tokens are stored.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// NewToken makes an API token (shown once).
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "gha1." + base64.RawURLEncoding.EncodeToString(b[:])
}

// admin wraps a handler of the admin API: the caller is the holder of the
// bearer token, with its role's rights.
func (s *Server) admin(need right, h func(w http.ResponseWriter, r *http.Request, who store.Token)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, err := s.caller(r)
		if err != nil {
			s.reply(w, nil, err)
			return
		}
		if !allowed(who.Role, need) {
			s.reply(w, nil, fail(http.StatusForbidden, "%s (%s) may not do this", who.Name, who.Role))
			return
		}
		h(w, r, who)
	}
}

// EnrollTokenRequest is POST /v1/admin/enroll-tokens.
type EnrollTokenRequest struct {
	TTL  string   `json:"ttl"`  // e.g. "24h"
	Uses int      `json:"uses"` // -1 unlimited, default 1
	Tags []string `json:"tags,omitempty"`
}

func (s *Server) makeEnrollToken(w http.ResponseWriter, r *http.Request, who store.Token) {
	var req EnrollTokenRequest
	if err := decode(w, r, &req); err != nil {
		s.reply(w, nil, err)
		return
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil || ttl <= 0 || ttl > 30*24*time.Hour {
		s.reply(w, nil, fail(http.StatusBadRequest, "ttl must be a duration from 1s to 720h, like 24h"))
		return
	}
	if req.Uses == 0 {
		req.Uses = 1
	}
	if req.Uses < -1 {
		s.reply(w, nil, fail(http.StatusBadRequest, "uses must be -1 (unlimited until it expires) or 1 or more"))
		return
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		s.reply(w, nil, err)
		return
	}
	now := s.now()
	if err := s.st.AddEnrollToken(r.Context(), EnrollSecretHash(secret[:]), now.Add(ttl), req.Uses, req.Tags, who.Name, now); err != nil {
		s.reply(w, nil, err)
		return
	}
	tok := FormatEnrollToken(secret[:], s.ca.CAHash())
	s.reply(w, map[string]any{"token": tok, "expires": now.Add(ttl)}, nil)
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, _ store.Token) {
	rs, err := s.st.Requests(r.Context(), r.URL.Query().Get("state"))
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	out, err := s.requestsToWire(r.Context(), rs)
	s.reply(w, out, err)
}

func (s *Server) listMachines(w http.ResponseWriter, r *http.Request, _ store.Token) {
	ms, err := s.st.Machines(r.Context())
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	pending, err := s.st.Requests(r.Context(), store.Pending)
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	waiting := map[string]int{}
	for _, p := range pending {
		waiting[p.MachineID]++
	}
	out := make([]MachineWire, 0, len(ms))
	for _, m := range ms {
		if m.Agents == nil {
			m.Agents = []store.AgentVersion{}
		}
		out = append(out, MachineWire{ID: m.ID, Hostname: m.Hostname, OfflineName: m.OfflineName, Tags: m.Tags, Enrolled: m.Enrolled,
			LastSeen: m.LastSeen, PolicyRevision: m.PolicyRevision, Revoked: m.Revoked, Pending: waiting[m.ID],
			DaemonVersion: m.DaemonVersion, SyncVersion: m.SyncVersion, Agents: m.Agents})
	}
	s.reply(w, out, nil)
}

// DecideRequest is POST /v1/admin/requests/{id}/decide.
type DecideRequest struct {
	Approve     bool      `json:"approve"`
	Note        string    `json:"note,omitempty"`
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, who store.Token) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.reply(w, nil, fail(http.StatusBadRequest, "the request id is a number"))
		return
	}
	var req DecideRequest
	if err := decode(w, r, &req); err != nil {
		s.reply(w, nil, err)
		return
	}
	rq, d, err := s.st.CastVote(r.Context(), id, store.Vote{Voter: who.Name, Approve: req.Approve, Note: req.Note,
		WindowStart: req.WindowStart, WindowEnd: req.WindowEnd}, s.now(), s.sign)
	if err == nil && d != nil {
		s.log.Info("request decided", "request", id, "machine", d.MachineID, "approve", d.Approve, "by", who.Name)
	}
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	out, err := s.requestsToWire(r.Context(), []store.Request{rq})
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	s.reply(w, out[0], nil)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, who store.Token) {
	err := s.st.Revoke(r.Context(), r.PathValue("id"), who.Name, s.now())
	s.reply(w, map[string]bool{"revoked": err == nil}, err)
}

// OfflineCodeRequest is POST /v1/admin/offline-code: the help desk's
// response code for a machine's offline request.
type OfflineCodeRequest struct {
	MachineID   string `json:"machine_id"`
	RequestCode string `json:"request_code"` // the 6 digits the user reads out
	Revision    int64  `json:"revision"`     // the policy revision the machine shows
	// Reason says why the code is issued (required; audited).
	Reason string `json:"reason"`
	// Date is the UTC day, YYYY-MM-DD (default today).
	Date string `json:"date,omitempty"`
}

// offlineCode computes the response code from the machine's escrowed
// secret: who asked, for which machine and why is audited.
func (s *Server) offlineCode(w http.ResponseWriter, r *http.Request, who store.Token) {
	var req OfflineCodeRequest
	if err := decode(w, r, &req); err != nil {
		s.reply(w, nil, err)
		return
	}
	code, host, err := OfflineCode(r.Context(), s.st, req, who.Name, s.now())
	s.reply(w, map[string]string{"code": code, "machine": host}, err)
}

// OfflineCode computes the help desk's response code for req from the
// machine's escrowed secret and audits it with who and req's reason (the
// admin API, and `gatehouse-console offline-code`). It returns the code
// and the machine's hostname; errors are the API's (apiError, or
// store.ErrNotFound for an unknown machine).
func OfflineCode(ctx context.Context, st *store.Store, req OfflineCodeRequest, who string, now time.Time) (code, hostname string, err error) {
	if len(strings.TrimSpace(req.Reason)) < 5 {
		return "", "", fail(http.StatusBadRequest, "reason is required (at least 5 characters): it is kept with the code's record")
	}
	m, err := st.Machine(ctx, req.MachineID)
	if err != nil {
		return "", "", err
	}
	if len(m.OfflineSecret) == 0 {
		return "", "", fail(http.StatusConflict, "machine %s escrowed no offline secret at enrollment: enroll it again", m.ID)
	}
	secret, err := offline.ParseSecret(string(m.OfflineSecret))
	if err != nil {
		return "", "", fmt.Errorf("machine %s's escrowed secret: %w", m.ID, err)
	}
	rc, err := offline.ParseRequestCode(req.RequestCode)
	if err != nil {
		return "", "", fail(http.StatusBadRequest, "%v", err)
	}
	day := offline.DayOf(now)
	if req.Date != "" {
		if day, err = offline.ParseDay(req.Date); err != nil {
			return "", "", fail(http.StatusBadRequest, "date: %v", err)
		}
	}
	name := m.OfflineName
	if name == "" {
		name = m.Hostname
	}
	code, err = offline.Respond(secret, offline.Challenge{Machine: name, Revision: req.Revision, RequestCode: rc, Day: day})
	if err != nil {
		return "", "", fail(http.StatusBadRequest, "%v", err)
	}
	if err := st.Record(ctx, now, who, "offline-code", fmt.Sprintf("machine %s (%s), request code %s, revision %d, day %s: %s",
		m.ID, m.Hostname, rc, req.Revision, day, req.Reason)); err != nil {
		return "", "", err
	}
	return code, m.Hostname, nil
}

// EventUpload is POST /v1/endpoint/events: a batch of a machine's audit
// events, oldest first, at most maxEvents. Uploading a batch again (its
// answer was lost) stores nothing twice.
type EventUpload struct {
	Events []EventWire `json:"events"`
}

// EventWire is one audit event as a machine sends it.
type EventWire struct {
	ID             int64           `json:"id"` // the event's id on the machine
	Time           time.Time       `json:"time"`
	Kind           string          `json:"kind"`
	Action         string          `json:"action,omitempty"`
	Allowed        bool            `json:"allowed"`
	Rule           int             `json:"rule,omitempty"`
	PolicyRevision int64           `json:"policy_revision,omitempty"`
	UID            uint32          `json:"uid"`
	User           string          `json:"user,omitempty"`
	Path           string          `json:"path,omitempty"`
	SHA256         string          `json:"sha256,omitempty"`
	Detail         json.RawMessage `json:"detail,omitempty"` // the rest of the machine's event
}

const (
	maxEvents     = 1000
	maxEventsBody = 4 << 20
)

func (s *Server) uploadEvents(w http.ResponseWriter, r *http.Request, m store.Machine) {
	var u EventUpload
	if err := decodeUpTo(w, r, &u, maxEventsBody); err != nil {
		s.reply(w, nil, err)
		return
	}
	if len(u.Events) > maxEvents {
		s.reply(w, nil, fail(http.StatusRequestEntityTooLarge, "at most %d events per upload, got %d", maxEvents, len(u.Events)))
		return
	}
	evs := make([]store.Event, 0, len(u.Events))
	for _, e := range u.Events {
		if e.ID <= 0 || e.Kind == "" {
			s.reply(w, nil, fail(http.StatusBadRequest, "every event needs its id on the machine (1 or more) and a kind"))
			return
		}
		detail := "{}"
		if len(e.Detail) > 0 {
			detail = string(e.Detail)
		}
		ev := store.Event{MachineID: m.ID, EndpointID: e.ID, Time: e.Time, Kind: e.Kind, Action: e.Action, Allowed: e.Allowed,
			Rule: e.Rule, PolicyRevision: e.PolicyRevision, UID: e.UID, User: e.User, Path: e.Path, SHA256: e.SHA256, Detail: detail}
		if e.Kind == "program" {
			if ev.Facts = programFacts(e); ev.Facts == "" {
				s.log.Warn("a machine's program record has no usable facts; kept as an event only", "machine", m.ID, "event", e.ID, "path", e.Path)
			}
		}
		evs = append(evs, ev)
	}
	n, err := s.st.PutEvents(r.Context(), evs)
	s.reply(w, map[string]int{"stored": n}, err)
}

// Bounds of a versions report: a version is a short printable word.
const (
	maxVersionLen = 64
	maxAgentsSeen = 1000
)

func (s *Server) reportVersions(w http.ResponseWriter, r *http.Request, m store.Machine) {
	var v VersionsReport
	if err := decodeUpTo(w, r, &v, maxBody); err != nil {
		s.reply(w, nil, err)
		return
	}
	word := func(what, x string) error {
		if len(x) > maxVersionLen || strings.ContainsFunc(x, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
			return fail(http.StatusBadRequest, "%s version %.20q: at most %d printable ASCII characters", what, x, maxVersionLen)
		}
		return nil
	}
	errs := []error{word("daemon", v.Daemon), word("sync", v.Sync)}
	if len(v.Agents) > maxAgentsSeen {
		errs = append(errs, fail(http.StatusBadRequest, "at most %d agents, got %d", maxAgentsSeen, len(v.Agents)))
	}
	for _, a := range v.Agents {
		errs = append(errs, word("agent", a.Version), word("agent user", a.User))
	}
	for _, err := range errs {
		if err != nil {
			s.reply(w, nil, err)
			return
		}
	}
	s.reply(w, map[string]bool{"ok": true}, s.st.ReportVersions(r.Context(), m.ID, v.Daemon, v.Sync, v.Agents))
}

// programFacts are the facts of a "program" event (its detail's detail, a
// policy.SubjectRecord) as the console keeps them; "" if they are not
// those of the event's program.
func programFacts(e EventWire) string {
	var d struct {
		Detail string `json:"detail"`
	}
	var rec policy.SubjectRecord
	if json.Unmarshal(e.Detail, &d) != nil || json.Unmarshal([]byte(d.Detail), &rec) != nil {
		return ""
	}
	if b, err := hex.DecodeString(rec.SHA256); err != nil || len(b) != sha256.Size || rec.SHA256 != strings.ToLower(rec.SHA256) || rec.SHA256 != e.SHA256 {
		return ""
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return ""
	}
	return string(b)
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, _ store.Token) {
	f, err := eventFilter(r)
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	evs, err := s.st.Events(r.Context(), f)
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		writeEventsCSV(w, evs)
		return
	}
	s.reply(w, eventsToWire(evs), nil)
}

// eventFilter reads GET /v1/admin/events' query: machine, user, path (a
// part of it), sha256, action, kind, rule, since and until (RFC 3339),
// after (an id), limit, order=newest.
func eventFilter(r *http.Request) (store.EventFilter, error) {
	q := r.URL.Query()
	f := store.EventFilter{MachineID: q.Get("machine"), User: q.Get("user"), PathContains: q.Get("path"), SHA256: q.Get("sha256"),
		Action: q.Get("action"), Kind: q.Get("kind"), Newest: q.Get("order") == "newest"}
	var err error
	if v := q.Get("after"); v != "" {
		if f.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return f, fail(http.StatusBadRequest, "after is an event id")
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 10000 {
			return f, fail(http.StatusBadRequest, "limit is 1 to 10000")
		}
	}
	if v := q.Get("rule"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, fail(http.StatusBadRequest, "rule is a number")
		}
		f.Rule = &n
	}
	for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			if *t, err = time.Parse(time.RFC3339, v); err != nil {
				return f, fail(http.StatusBadRequest, "%s is a time like 2026-12-01T00:00:00Z", name)
			}
		}
	}
	return f, nil
}

// writeEventsCSV writes evs as CSV, a header first, for a spreadsheet.
func writeEventsCSV(w http.ResponseWriter, evs []store.Event) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-events.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"time", "machine", "event_id", "kind", "action", "allowed", "rule", "policy_revision", "uid", "user", "path", "sha256"})
	for _, e := range evs {
		cw.Write([]string{e.Time.UTC().Format(time.RFC3339Nano), e.MachineID, strconv.FormatInt(e.EndpointID, 10), e.Kind, e.Action,
			strconv.FormatBool(e.Allowed), strconv.Itoa(e.Rule), strconv.FormatInt(e.PolicyRevision, 10), strconv.FormatUint(uint64(e.UID), 10),
			csvSafe(e.User), csvSafe(e.Path), e.SHA256})
	}
	cw.Flush()
}

// csvSafe keeps a field a spreadsheet would take for a formula (a path or
// user name starting with = + - @) a text.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// PolicyUpload is POST /v1/admin/policies: a policy in the policy
// language, linted before it is stored.
type PolicyUpload struct {
	Name string `json:"name"`
	YAML string `json:"yaml"`
}

// Diagnostic is one lint finding, where it is.
type Diagnostic struct {
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// maxPolicy bounds an uploaded policy.
const maxPolicy = 16 << 20

func (s *Server) uploadPolicy(w http.ResponseWriter, r *http.Request, who store.Token) {
	var u PolicyUpload
	if err := decodeUpTo(w, r, &u, maxPolicy+(64<<10)); err != nil {
		s.reply(w, nil, err)
		return
	}
	if u.Name == "" || len(u.Name) > 100 {
		s.reply(w, nil, fail(http.StatusBadRequest, "name the policy (1 to 100 characters)"))
		return
	}
	eng, diags := lint(u.Name, u.YAML)
	if eng == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": "the policy has errors; nothing was stored", "diagnostics": diags})
		return
	}
	err := s.st.AddPolicy(r.Context(), store.Policy{Name: u.Name, Revision: eng.Revision(), Body: []byte(u.YAML), UploadedBy: who.Name}, s.now())
	s.reply(w, map[string]any{"name": u.Name, "revision": eng.Revision(), "warnings": len(diags)}, err)
}

// AssignRequest is POST /v1/admin/assignments.
type AssignRequest struct {
	Target string `json:"target"` // machine:<id>, tag:<tag> or *
	Policy string `json:"policy"`
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request, who store.Token) {
	var a AssignRequest
	if err := decode(w, r, &a); err != nil {
		s.reply(w, nil, err)
		return
	}
	if a.Target != "*" && !strings.HasPrefix(a.Target, "machine:") && !strings.HasPrefix(a.Target, "tag:") {
		s.reply(w, nil, fail(http.StatusBadRequest, "target is machine:<id>, tag:<tag> or *"))
		return
	}
	err := s.st.Assign(r.Context(), a.Target, a.Policy, who.Name, s.now())
	s.reply(w, map[string]string{"target": a.Target, "policy": a.Policy}, err)
}

// PolicyWire is a policy as a machine receives it: signed for it.
type PolicyWire struct {
	Name      string `json:"name"`
	Revision  int64  `json:"revision"`
	Body      []byte `json:"body"`
	Signature []byte `json:"signature"`
}

// pollPolicy answers as soon as the machine's policy is newer than the
// revision it runs (have), signed for this machine; it records the
// revision the machine reports.
func (s *Server) pollPolicy(w http.ResponseWriter, r *http.Request, m store.Machine) {
	have, _ := strconv.ParseInt(r.URL.Query().Get("have"), 10, 64)
	_ = s.st.ReportRevision(r.Context(), m.ID, have)
	s.longPoll(w, r, m, func(ctx context.Context) (any, bool, error) {
		fresh, err := s.st.Machine(ctx, m.ID) // its tags as they are now
		if err != nil {
			return nil, false, err
		}
		p, ok, err := s.st.PolicyFor(ctx, fresh)
		if err != nil || !ok || p.Revision <= have {
			return map[string]any{"policy": nil, "signing_keys": s.keysStatement()}, false, err
		}
		sig := s.ca.Sign(signed.KindPolicy, signed.PolicyFields(m.ID, p.Revision, sha256.Sum256(p.Body))...)
		return map[string]any{"policy": PolicyWire{Name: p.Name, Revision: p.Revision, Body: p.Body, Signature: sig}, "signing_keys": s.keysStatement()}, true, nil
	})
}

// RenewRequest is POST /v1/endpoint/renew: a new key's certificate request,
// sent with the machine's current certificate.
type RenewRequest struct {
	CSR []byte `json:"csr"`
}

// renew issues the machine a new certificate for a new key: a machine
// renews before its certificate expires; a revoked one cannot (endpoint
// refuses it first).
func (s *Server) renew(w http.ResponseWriter, r *http.Request, m store.Machine) {
	var req RenewRequest
	if err := decode(w, r, &req); err != nil {
		s.reply(w, nil, err)
		return
	}
	now := s.now()
	cert, err := s.ca.IssueClient(req.CSR, m.ID, s.opt.ClientCertLifetime, now)
	if err != nil {
		s.reply(w, nil, fail(http.StatusBadRequest, "the certificate request: %v", err))
		return
	}
	if err := s.st.Record(r.Context(), now, "machine "+m.ID, "renew", fmt.Sprintf("%s (%s): a new certificate for %v", m.ID, m.Hostname, s.opt.ClientCertLifetime)); err != nil {
		s.reply(w, nil, err)
		return
	}
	var keys [][]byte
	for _, k := range s.ca.SigningPublics() {
		keys = append(keys, k)
	}
	s.reply(w, EnrollResponse{MachineID: m.ID, Certificate: cert, CA: s.ca.CAPEM(), SigningKeys: keys}, nil)
}
