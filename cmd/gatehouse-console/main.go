// gatehouse-console is the console server: enrollment, approval requests
// and their decisions for the machines that run gatehoused (docs/console.md).
//
//	gatehouse-console serve [--data DIR | --database DSN] [--listen ADDR] [--name HOST]...
//	gatehouse-console token create --name NAME --role admin|approver|helpdesk|auditor [--data DIR | --database DSN]
//	gatehouse-console token enroll [--ttl 24h] [--uses 1] [--tag T]... [--data DIR | --database DSN]
//	gatehouse-console offline-code --machine NAME|ID --request-code CODE --revision N --reason TEXT [--date D] [--data DIR | --database DSN]
//	gatehouse-console user add --name NAME --role ROLE [--data DIR | --database DSN]
//	gatehouse-console user password --name NAME [--data DIR | --database DSN]
//	gatehouse-console user totp --name NAME [--off] [--data DIR | --database DSN]
//
// With no configuration, serve keeps everything in DIR
// (/var/lib/gatehouse-console): console.db (SQLite) and pki/ (the CA and
// signing keys it makes on first start). With --database (or
// GATEHOUSE_CONSOLE_DATABASE) it keeps both in that PostgreSQL database,
// which several nodes behind a load balancer share.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/store"
)

const defaultData = "/var/lib/gatehouse-console"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  gatehouse-console serve [--data DIR | --database DSN] [--listen ADDR] [--name HOST]...
  gatehouse-console token create --name NAME --role admin|approver|helpdesk|auditor [--data DIR | --database DSN]
  gatehouse-console token enroll [--ttl 24h] [--uses 1] [--tag T]... [--data DIR | --database DSN]
  gatehouse-console offline-code --machine NAME|ID --request-code CODE --revision N --reason TEXT [--date YYYY-MM-DD] [--data DIR | --database DSN]
  gatehouse-console user add --name NAME --role admin|approver|helpdesk|auditor [--sso] [--data DIR | --database DSN]   (the password on stdin, or one is made; --sso: single sign-on only)
  gatehouse-console user password --name NAME [--data DIR | --database DSN]
  gatehouse-console user totp --name NAME [--off] [--data DIR | --database DSN]   (prints the otpauth:// URI for an authenticator app)`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch {
	case args[0] == "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case len(args) > 1 && args[0] == "token" && args[1] == "create":
		return tokenCreate(args[2:], stdout, stderr)
	case len(args) > 1 && args[0] == "token" && args[1] == "enroll":
		return tokenEnroll(args[2:], stdout, stderr)
	case args[0] == "offline-code":
		return offlineCode(args[1:], stdout, stderr)
	case len(args) > 1 && args[0] == "user" && (args[1] == "add" || args[1] == "password"):
		return userCmd(args[1], args[2:], os.Stdin, stdout, stderr)
	case len(args) > 1 && args[0] == "user" && args[1] == "totp":
		return userTOTP(args[2:], stdout, stderr)
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// where says where the console keeps its state, and the CA to start with.
type where struct {
	data, database *string
	caCert, caKey  *string
}

// command is a subcommand's flag set, with where the console keeps its
// state.
func command(name string, stderr io.Writer) (*flag.FlagSet, where) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, where{
		data:     fs.String("data", defaultData, "where the database (SQLite) and the keys are kept"),
		database: fs.String("database", os.Getenv(databaseEnv), "a PostgreSQL connection string (postgres://… or \"host=… dbname=…\"), for several nodes sharing one database; empty: SQLite in --data (default $"+databaseEnv+")"),
		caCert:   fs.String("ca-cert", "", "your own CA's certificate (PEM, ECDSA P-256) instead of one made at the first start; taken only by a console with no CA yet"),
		caKey:    fs.String("ca-key", "", "the key of --ca-cert (PEM)"),
	}
}

// ownCA reads --ca-cert and --ca-key (nil, nil without them).
func (wh where) ownCA() (cert, key []byte, err error) {
	if (*wh.caCert == "") != (*wh.caKey == "") {
		return nil, nil, errors.New("give --ca-cert and --ca-key together")
	}
	if *wh.caCert == "" {
		return nil, nil, nil
	}
	if cert, err = os.ReadFile(*wh.caCert); err != nil {
		return nil, nil, err
	}
	if key, err = os.ReadFile(*wh.caKey); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// databaseEnv may hold --database's default, so that a password in it need
// not be on a command line.
const databaseEnv = "GATEHOUSE_CONSOLE_DATABASE"

// open opens the console's store and authority: on PostgreSQL both are in
// the database (the first node to start makes the authority); on SQLite
// the database and pki/ are in the data directory.
func (wh where) open(ctx context.Context, log *slog.Logger) (*store.Store, *pki.Authority, bool, error) {
	caPEM, keyPEM, err := wh.ownCA()
	if err != nil {
		return nil, nil, false, err
	}
	if *wh.database != "" {
		var own *pki.Authority
		if caPEM != nil {
			if own, err = pki.FromCA(caPEM, keyPEM); err != nil {
				return nil, nil, false, err
			}
		}
		st, err := store.OpenPostgres(ctx, *wh.database, log)
		if err != nil {
			return nil, nil, false, err
		}
		ca, created, err := server.SharedAuthority(ctx, st, time.Now(), own)
		if err != nil {
			st.Close()
			return nil, nil, false, err
		}
		return st, ca, created, nil
	}
	data := *wh.data
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, nil, false, fmt.Errorf("data directory: %w", err)
	}
	var ca *pki.Authority
	created := false
	if caPEM != nil {
		ca, err = pki.ImportCA(filepath.Join(data, "pki"), caPEM, keyPEM)
	} else {
		ca, created, err = pki.LoadOrCreate(filepath.Join(data, "pki"), time.Now())
	}
	if err != nil {
		return nil, nil, false, err
	}
	st, err := store.Open(filepath.Join(data, "console.db"))
	if err != nil {
		return nil, nil, false, err
	}
	return st, ca, created, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, wh := command("gatehouse-console serve", stderr)
	listen := fs.String("listen", ":8443", "the HTTPS address")
	tlsCert := fs.String("tls-cert", "", "a server certificate (PEM, its chain after it) to serve instead of one issued at each start; it must chain to the console's CA, which machines pin")
	tlsKey := fs.String("tls-key", "", "the key of --tls-cert (PEM)")
	publicURL := fs.String("url", "", "where people reach the console's pages, for the links in notifications (default https://NAME:PORT with the first --name)")
	smtpAddr := fs.String("smtp", "", "the SMTP server (host:port) e-mail notifications go through; empty: no e-mail")
	smtpFrom := fs.String("smtp-from", "", "the sender of e-mail notifications")
	smtpUser := fs.String("smtp-user", "", "the SMTP account (its password in $GATEHOUSE_CONSOLE_SMTP_PASSWORD)")
	oidcIssuer := fs.String("oidc-issuer", "", "single sign-on: the OpenID Connect provider's issuer URL")
	oidcClient := fs.String("oidc-client-id", "", "single sign-on: this console's client id at the provider (its secret in $GATEHOUSE_CONSOLE_OIDC_SECRET; the redirect URI is --url + /v1/sso/callback)")
	var names listFlag
	fs.Var(&names, "name", "a DNS name or IP address endpoints reach the console by (repeat; default this host's name, localhost, 127.0.0.1)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, ca, created, err := wh.open(ctx, log)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	defer st.Close()
	if created {
		in := filepath.Join(*wh.data, "pki")
		if st.Postgres() {
			in = "the database"
		}
		log.Info("made the console's CA and signing key", "in", in, "ca_sha256", ca.CAHash())
	}
	if len(names) == 0 {
		host, _ := os.Hostname()
		names = slices.DeleteFunc([]string{host, "localhost", "127.0.0.1"}, func(s string) bool { return s == "" })
	}
	var cert tls.Certificate
	switch {
	case (*tlsCert == "") != (*tlsKey == ""):
		err = errors.New("give --tls-cert and --tls-key together")
	case *tlsCert != "":
		if cert, err = tls.LoadX509KeyPair(*tlsCert, *tlsKey); err == nil {
			cert, err = ca.ConfiguredServerCert(cert, time.Now())
		}
	default:
		cert, err = ca.ServerCert(names, time.Now())
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console: server certificate:", err)
		return 1
	}
	keep := server.KeepInDir(filepath.Join(*wh.data, "pki"), st, time.Now)
	if st.Postgres() {
		keep = server.KeepInStore(st, time.Now)
	}
	var mail *server.SMTP
	if *smtpAddr != "" {
		if *smtpFrom == "" {
			fmt.Fprintln(stderr, "gatehouse-console: --smtp needs --smtp-from")
			return 2
		}
		mail = &server.SMTP{Addr: *smtpAddr, From: *smtpFrom, User: *smtpUser, Password: os.Getenv("GATEHOUSE_CONSOLE_SMTP_PASSWORD")}
	}
	if *publicURL == "" {
		_, port, _ := net.SplitHostPort(*listen)
		*publicURL = "https://" + net.JoinHostPort(names[0], port)
	}
	var sso *server.OIDC
	if *oidcIssuer != "" {
		if *oidcClient == "" {
			fmt.Fprintln(stderr, "gatehouse-console: --oidc-issuer needs --oidc-client-id")
			return 2
		}
		sso = &server.OIDC{Issuer: *oidcIssuer, ClientID: *oidcClient, ClientSecret: os.Getenv("GATEHOUSE_CONSOLE_OIDC_SECRET")}
	}
	srv := server.New(st, ca, server.Options{Logger: log, Keep: keep, PublicURL: *publicURL, SMTP: mail, OIDC: sso})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	hs := &http.Server{Handler: srv.Handler(), TLSConfig: srv.TLSConfig(cert), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "gatehouse-console listening on https://%s (names %s; CA sha256 %s)\n", ln.Addr(), strings.Join(names, ", "), ca.CAHash())
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	go srv.Run(ctx) // notifications
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	return 0
}

func tokenCreate(args []string, stdout, stderr io.Writer) int {
	fs, wh := command("gatehouse-console token create", stderr)
	name := fs.String("name", "", "who the token is for (shown in the audit)")
	role := fs.String("role", "", "admin, approver, helpdesk or auditor")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *name == "" || !slices.Contains(server.RoleNames, *role) {
		fmt.Fprintf(stderr, "gatehouse-console token create: give --name and --role (one of %s)\n", strings.Join(server.RoleNames, ", "))
		return 2
	}
	st, _, _, err := wh.open(context.Background(), nil)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	defer st.Close()
	tok := server.NewToken()
	if err := st.AddAPIToken(context.Background(), server.HashToken(tok), store.Token{Name: *name, Role: *role}, "gatehouse-console token create", time.Now()); err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

func tokenEnroll(args []string, stdout, stderr io.Writer) int {
	fs, wh := command("gatehouse-console token enroll", stderr)
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token enrolls")
	uses := fs.Int("uses", 1, "how many machines it enrolls (-1: any number until it expires)")
	var tags listFlag
	fs.Var(&tags, "tag", "a tag the machines it enrolls get (repeat)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *ttl <= 0 || *uses == 0 || *uses < -1 {
		fmt.Fprintln(stderr, "gatehouse-console token enroll: --ttl must be positive and --uses -1 or 1 or more")
		return 2
	}
	st, ca, _, err := wh.open(context.Background(), nil)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	defer st.Close()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	now := time.Now()
	if err := st.AddEnrollToken(context.Background(), server.EnrollSecretHash(secret), now.Add(*ttl), *uses, tags, "gatehouse-console token enroll", now); err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	fmt.Fprintln(stdout, server.FormatEnrollToken(secret, ca.CAHash()))
	return 0
}

// offlineCode is the help desk's response code from the command line, as
// POST /v1/admin/offline-code gives it: from the machine's escrowed
// secret, audited with the account that ran it and the reason.
func offlineCode(args []string, stdout, stderr io.Writer) int {
	fs, wh := command("gatehouse-console offline-code", stderr)
	machine := fs.String("machine", "", "the computer: the name its user reads out, its hostname on the console, or its machine id")
	rc := fs.String("request-code", "", "the 6-digit request code the user reads out")
	revision := fs.Int64("revision", 0, "the policy revision the user's computer shows")
	reason := fs.String("reason", "", "why the code is issued (kept with its record)")
	date := fs.String("date", "", "the UTC day the code is for, YYYY-MM-DD (default today)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *machine == "" || *rc == "" || *reason == "" {
		fmt.Fprintln(stderr, "gatehouse-console offline-code: give --machine, --request-code, --revision and --reason")
		return 2
	}
	ctx := context.Background()
	st, _, _, err := wh.open(ctx, nil)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	defer st.Close()
	id, err := findMachine(ctx, st, *machine)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console offline-code:", err)
		return 1
	}
	who := "gatehouse-console offline-code"
	if u, err := user.Current(); err == nil {
		who += fmt.Sprintf(" (%s, uid %s)", u.Username, u.Uid)
	}
	code, host, err := server.OfflineCode(ctx, st, server.OfflineCodeRequest{MachineID: id, RequestCode: *rc, Revision: *revision, Reason: *reason, Date: *date}, who, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console offline-code:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\t(for %s)\n", code, host)
	return 0
}

// findMachine is the id of the machine name names: its id, or the one
// machine whose offline name or hostname it is (case does not matter).
func findMachine(ctx context.Context, st *store.Store, name string) (string, error) {
	ms, err := st.Machines(ctx)
	if err != nil {
		return "", err
	}
	var found []store.Machine
	for _, m := range ms {
		if m.ID == name {
			return m.ID, nil
		}
		if strings.EqualFold(m.OfflineName, name) || strings.EqualFold(m.Hostname, name) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no machine is called %q: `GET /v1/admin/machines` lists them", name)
	case 1:
		return found[0].ID, nil
	}
	var ids []string
	for _, m := range found {
		ids = append(ids, m.ID)
	}
	return "", fmt.Errorf("%d machines are called %q (%s): give its machine id", len(found), name, strings.Join(ids, ", "))
}

// userCmd adds a person who signs in to the pages, or sets a new password
// (which also unlocks the account and ends its sessions). The password is
// the first line of stdin; with nothing there one is made and printed once.
func userCmd(verb string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, wh := command("gatehouse-console user "+verb, stderr)
	name := fs.String("name", "", "who signs in")
	role := fs.String("role", "", "admin, approver, helpdesk or auditor (user add)")
	ssoOnly := fs.Bool("sso", false, "the account signs in only through single sign-on: no password (user add)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *name == "" || verb == "add" && !slices.Contains(server.RoleNames, *role) {
		fmt.Fprintf(stderr, "gatehouse-console user %s: give --name%s\n", verb, map[bool]string{true: " and --role (one of " + strings.Join(server.RoleNames, ", ") + ")"}[verb == "add"])
		return 2
	}
	password, made := "", false
	if !*ssoOnly {
		if line, err := bufio.NewReader(stdin).ReadString('\n'); err == nil || line != "" {
			password = strings.TrimRight(line, "\r\n")
		}
		if password == "" {
			password, made = rand.Text(), true // 26 base32 characters, 128 bits
		}
	}
	ctx := context.Background()
	st, _, _, err := wh.open(ctx, nil)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	defer st.Close()
	by := "gatehouse-console user " + verb
	if verb == "add" {
		err = server.AddUser(ctx, st, *name, *role, password, by, time.Now())
	} else {
		err = server.SetPassword(ctx, st, *name, password, by, time.Now())
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse-console user %s: %v\n", verb, err)
		return 1
	}
	if made {
		fmt.Fprintf(stdout, "%s\n", password)
	}
	return 0
}

// userTOTP gives an account a second factor (one-time codes) and prints
// the otpauth:// URI to put in an authenticator app, or removes it.
func userTOTP(args []string, stdout, stderr io.Writer) int {
	fs, wh := command("gatehouse-console user totp", stderr)
	name := fs.String("name", "", "the account")
	off := fs.Bool("off", false, "remove the account's second factor")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *name == "" {
		fmt.Fprintln(stderr, "gatehouse-console user totp: give --name")
		return 2
	}
	ctx := context.Background()
	st, _, _, err := wh.open(ctx, nil)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-console:", err)
		return 1
	}
	defer st.Close()
	secret, uri := "", ""
	if !*off {
		secret, uri = server.NewTOTPSecret(*name)
	}
	if err := st.SetTOTP(ctx, *name, secret, "gatehouse-console user totp", time.Now()); err != nil {
		fmt.Fprintln(stderr, "gatehouse-console user totp:", err)
		return 1
	}
	if uri != "" {
		fmt.Fprintln(stdout, uri)
	}
	return 0
}
