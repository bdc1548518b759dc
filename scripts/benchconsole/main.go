// benchconsole measures one console node on loopback, on SQLite and on
// PostgreSQL: N simulated machines, each enrolled with its own certificate,
// each holding its decision long poll open; then decisions are made one at
// a time on random machines and the time until that machine's poll returns
// is taken; then request and event uploads are timed. Figures go to
// docs/benchmarks.md.
//
//	go run ./scripts/benchconsole -n 10000 -database both
//
// The machines run in a child process (this program again, selected by
// the environment variable BENCHCONSOLE_CLIENTS), so that each process
// holds one end of each connection: N + 200 descriptors each instead of
// 2N + 200 in one. The parent is the console node; the two speak over the
// child's stdin and stdout, one line per message (clients.go). Without
// -dsn, PostgreSQL is a private server started by scripts/postgres for
// the run, with its default durability (fsync and synchronous_commit on),
// and stopped at the end; each run gets a new database, dropped after.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/console/store"
)

// clientsEnv selects the machines' process (clients.go).
const clientsEnv = "BENCHCONSOLE_CLIENTS"

func main() {
	if os.Getenv(clientsEnv) != "" {
		clients()
		return
	}
	n := flag.Int("n", 1000, "simulated machines holding a poll open")
	decisions := flag.Int("decisions", 200, "decisions timed")
	uploads := flag.Int("uploads", 2000, "requests uploaded (and events, in batches of 500, ten times as many)")
	database := flag.String("database", "both", "sqlite, postgres, or both (SQLite first, then PostgreSQL, one table)")
	dsn := flag.String("dsn", "", "PostgreSQL server to use (libpq keywords or a postgres:// URL; a database is created on it for the run and dropped after); empty: start a private one with scripts/postgres")
	flag.Parse()
	var kinds []string
	switch *database {
	case "sqlite", "postgres":
		kinds = []string{*database}
	case "both":
		kinds = []string{"sqlite", "postgres"}
	default:
		fail("-database must be sqlite, postgres or both, not %q", *database)
	}
	if *n < 1 || *decisions < 1 || *uploads < 1 {
		fail("-n, -decisions and -uploads must be 1 or more")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() { fail("%v", <-sigs) }()
	raiseFiles(*n)

	var results []result
	var pg *pgServer
	for _, kind := range kinds {
		var r result
		if kind == "sqlite" {
			dir, err := os.MkdirTemp("", "benchconsole-")
			check(err)
			atExit(func() { os.RemoveAll(dir) })
			st, err := store.Open(filepath.Join(dir, "console.db"))
			check(err)
			ca, err := pki.Create(time.Now())
			check(err)
			fmt.Printf("\n== SQLite (WAL, synchronous=NORMAL), %d machines\n", *n)
			r = run("SQLite", st, ca, *n, *decisions, *uploads)
			check(st.Close())
			os.RemoveAll(dir)
		} else {
			if pg == nil {
				pg = startPostgres(*dsn)
			}
			db := pg.newDatabase()
			st, err := store.OpenPostgres(context.Background(), db.dsn, slog.New(slog.DiscardHandler))
			check(err)
			ca, _, err := server.SharedAuthority(context.Background(), st, time.Now(), nil)
			check(err)
			fmt.Printf("\n== PostgreSQL (%s), %d machines\n", pg.settings, *n)
			r = run("PostgreSQL", st, ca, *n, *decisions, *uploads)
			check(st.Close())
			db.drop()
		}
		results = append(results, r)
	}
	printTable(*n, results)
	cleanup()
}

// result is one run's figures.
type result struct {
	name                      string
	enrol                     float64 // machines/s
	serverConn, clientConn    float64 // bytes of heap and stacks per held poll
	serverSys, clientSys      float64 // bytes of Sys per held poll
	p50, p99, pmax            time.Duration
	pipeP50                   time.Duration // the same latency by the parent's clock, the arrival line read
	requestsPerS, eventsPerS  float64
	requestUploads, decisions int
}

// node is the console node under test: the server on a loopback TLS
// listener, counting its connections and the decision polls in its
// handler.
type node struct {
	ts          *httptest.Server
	conns       atomic.Int64
	polls       atomic.Int64
	closeServer func()
}

func startNode(st *store.Store, ca *pki.Authority) *node {
	srv := server.New(st, ca, server.Options{MaxWait: 10 * time.Minute, Logger: slog.New(slog.DiscardHandler)})
	cert, err := ca.ServerCert([]string{"127.0.0.1"}, time.Now())
	check(err)
	nd := &node{}
	h := srv.Handler()
	nd.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/endpoint/decisions" {
			nd.polls.Add(1)
			defer nd.polls.Add(-1)
		}
		h.ServeHTTP(w, r)
	}))
	nd.ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			nd.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			nd.conns.Add(-1)
		}
	}
	nd.ts.TLS = srv.TLSConfig(cert)
	nd.ts.StartTLS()
	var once sync.Once
	nd.closeServer = func() { once.Do(nd.ts.Close) }
	atExit(nd.closeServer)
	return nd
}

// await waits until cond holds, failing after limit.
func await(what string, limit time.Duration, cond func() bool) {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			fail("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func run(name string, st *store.Store, ca *pki.Authority, n, decisions, uploads int) result {
	ctx := context.Background()
	r := result{name: name, requestUploads: uploads}
	nd := startNode(st, ca)
	secret := make([]byte, 32)
	rand.Read(secret)
	check(st.AddEnrollToken(ctx, server.EnrollSecretHash(secret), time.Now().Add(time.Hour), -1, nil, "bench", time.Now()))
	token := server.FormatEnrollToken(secret, ca.CAHash())
	m := startMachines()

	fmt.Printf("enrolling %d machines (in the machines' process, 32 at a time)…\n", n)
	t0 := time.Now()
	m.send("enroll %s %s %d", nd.ts.URL, token, n)
	m.expect("enrolled")
	r.enrol = float64(n) / time.Since(t0).Seconds()
	fmt.Printf("enrolled in %v (%.0f/s)\n", time.Since(t0).Round(time.Millisecond), r.enrol)

	// One request per machine, so each has something to be decided: stored
	// here, not uploaded, so that no machine has a connection open before
	// its poll.
	ms, err := st.Machines(ctx)
	check(err)
	if len(ms) != n {
		fail("%d machines enrolled, not %d", len(ms), n)
	}
	pending := map[string]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				id, _, err := st.PutRequest(ctx, store.Request{MachineID: ms[k].ID, EndpointID: 1, Created: time.Now(), UID: 501, User: "u", Kind: "approval", Path: fmt.Sprintf("/opt/%d", k), Facts: "{}"})
				check(err)
				mu.Lock()
				pending[ms[k].ID] = id
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ids := make([]string, 0, n)
	for _, mm := range ms {
		ids = append(ids, mm.ID)
	}

	// The enrolments' connections are closed before the baseline.
	await("the enrolment connections to close", time.Minute, func() bool { return nd.conns.Load() == 0 })
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 = time.Now()
	m.send("poll")
	m.expect("polling")
	await(fmt.Sprintf("%d polls in the server", n), 5*time.Minute, func() bool { return nd.polls.Load() == int64(n) && nd.conns.Load() == int64(n) })
	opened := time.Since(t0)
	time.Sleep(2 * time.Second) // the polls are waiting in longPoll
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	r.serverConn = float64(int64(after.HeapInuse+after.StackInuse)-int64(before.HeapInuse+before.StackInuse)) / float64(n)
	r.serverSys = float64(int64(after.Sys)-int64(before.Sys)) / float64(n)
	f := strings.Fields(m.ask("mem"))
	if len(f) != 3 {
		fail("the machines' process answered mem with %q", strings.Join(f, " "))
	}
	cHeap, _ := strconv.ParseFloat(f[1], 64)
	cSys, _ := strconv.ParseFloat(f[2], 64)
	r.clientConn, r.clientSys = cHeap/float64(n), cSys/float64(n)
	fmt.Printf("%d polls open in %v: console node %.1f KiB per connection (heap + stacks; Sys %.1f KiB), machines' process %.1f KiB (Sys %.1f KiB)\n",
		n, opened.Round(time.Millisecond), r.serverConn/1024, r.serverSys/1024, r.clientConn/1024, r.clientSys/1024)

	tok := server.NewToken()
	check(st.AddAPIToken(ctx, server.HashToken(tok), store.Token{Name: "ann", Role: "approver"}, "bench", time.Now()))
	var lat, pipeLat []time.Duration
	for k := range min(decisions, n) {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
		check(err)
		i := int(j.Int64())
		for pending[ids[i]] == 0 { // decided already: the next one
			i = (i + 1) % n
		}
		machine := ids[i]
		id := pending[machine]
		pending[machine] = 0
		start := time.Now()
		_, d, err := st.CastVote(ctx, id, store.Vote{Voter: "ann", Approve: true}, time.Now(), func(d *store.Decision) []byte {
			return ca.Sign(signed.KindDecision, signed.DecisionFields(d.MachineID, d.EndpointID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)...)
		})
		check(err)
		if d == nil || d.MachineID != machine {
			fail("the vote on request %d made no decision for %s", id, machine)
		}
		select {
		case a := <-m.arrivals:
			if a.machine != machine {
				fail("decision %d: machine %s's poll returned, the decision was for %s", k, a.machine, machine)
			}
			lat = append(lat, time.Unix(0, a.at).Sub(start))
			pipeLat = append(pipeLat, a.read.Sub(start))
		case <-time.After(30 * time.Second):
			fail("decision %d not received in 30 s", k)
		}
	}
	r.decisions = len(lat)
	slices.Sort(lat)
	slices.Sort(pipeLat)
	r.p50, r.p99, r.pmax = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	r.pipeP50 = pipeLat[len(pipeLat)/2]
	fmt.Printf("decision → machine with %d polls open: p50 %v, p99 %v, max %v (%d decisions; by this process's clock on reading the machine's line: p50 %v)\n", n,
		rnd(r.p50), rnd(r.p99), rnd(r.pmax), len(lat), rnd(r.pipeP50))
	m.ask("stop") // the remaining polls hang up
	await("the polls to close", time.Minute, func() bool { return nd.polls.Load() == 0 })

	// Uploads: requests one by one, events in batches, from many machines
	// at once, each on its own kept-alive connection.
	t0 = time.Now()
	m.ask(fmt.Sprintf("requests %d", uploads))
	r.requestsPerS = float64(uploads) / time.Since(t0).Seconds()
	fmt.Printf("request uploads: %.0f/s (32 machines at a time)\n", r.requestsPerS)
	batches := max(1, uploads*10/500)
	t0 = time.Now()
	m.ask(fmt.Sprintf("events %d", batches))
	r.eventsPerS = float64(batches*500) / time.Since(t0).Seconds()
	fmt.Printf("event uploads: %.0f events/s (batches of 500, 8 machines at a time)\n", r.eventsPerS)
	m.quit()
	nd.closeServer()
	return r
}

func rnd(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// machines is the child process holding the simulated machines.
type machines struct {
	cmd      *exec.Cmd
	in       io.WriteCloser
	replies  chan string
	arrivals chan arrival
	done     chan struct{} // its stdout ended
}

// arrival is a decision a machine's poll returned: when the machine had
// it (its clock, UnixNano) and when this process read the line.
type arrival struct {
	machine string
	at      int64
	read    time.Time
}

func startMachines() *machines {
	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), clientsEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	in, err := cmd.StdinPipe()
	check(err)
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	m := &machines{cmd: cmd, in: in, replies: make(chan string, 16), arrivals: make(chan arrival, 1024), done: make(chan struct{})}
	var once sync.Once
	atExit(func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	})
	go func() {
		defer close(m.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "got "); ok {
				read := time.Now()
				f := strings.Fields(rest)
				if len(f) != 2 {
					fail("the machines' process said %q", line)
				}
				at, err := strconv.ParseInt(f[1], 10, 64)
				check(err)
				m.arrivals <- arrival{machine: f[0], at: at, read: read}
				continue
			}
			m.replies <- line
		}
	}()
	return m
}

func (m *machines) send(format string, args ...any) {
	if _, err := fmt.Fprintf(m.in, format+"\n", args...); err != nil {
		fail("to the machines' process: %v", err)
	}
}

// expect waits for the reply word (a line starting with it) and returns
// the line.
func (m *machines) expect(word string) string {
	select {
	case line := <-m.replies:
		if line != word && !strings.HasPrefix(line, word+" ") {
			fail("the machines' process answered %q, not %s", line, word)
		}
		return line
	case <-m.done:
		m.cmd.Wait()
		fail("the machines' process ended (%v) before answering %s", m.cmd.ProcessState, word)
	case <-time.After(10 * time.Minute):
		fail("the machines' process did not answer %s in 10 minutes", word)
	}
	return ""
}

// ask sends a command and waits for its reply, which starts with the
// command's first word.
func (m *machines) ask(cmd string) string {
	m.send("%s", cmd)
	return m.expect(strings.Fields(cmd)[0])
}

func (m *machines) quit() {
	m.in.Close() // the process ends at the end of its input
	select {
	case <-m.done:
	case <-time.After(time.Minute):
		m.cmd.Process.Kill()
	}
	check(m.cmd.Wait())
}

func printTable(n int, rs []result) {
	row := func(label string, f func(r result) string) {
		fmt.Printf("| %s |", label)
		for _, r := range rs {
			fmt.Printf(" %s |", f(r))
		}
		fmt.Println()
	}
	fmt.Printf("\n%s machines holding a poll, %d decisions, %s request uploads, %s events\n\n", thousands(float64(n)), rs[0].decisions, thousands(float64(rs[0].requestUploads)), thousands(float64(rs[0].requestUploads*10/500*500)))
	fmt.Printf("| %s machines |", thousands(float64(n)))
	for _, r := range rs {
		fmt.Printf(" %s |", r.name)
	}
	fmt.Println()
	fmt.Print("|---|")
	for range rs {
		fmt.Print("---|")
	}
	fmt.Println()
	row("enrol", func(r result) string { return thousands(r.enrol) + "/s" })
	row("memory per held connection, console node (heap + stacks)", func(r result) string { return fmt.Sprintf("%.1f KiB", r.serverConn/1024) })
	row("memory per held connection, machines' process (heap + stacks)", func(r result) string { return fmt.Sprintf("%.1f KiB", r.clientConn/1024) })
	row("decision → endpoint p50 / p99 / max", func(r result) string {
		return fmt.Sprintf("%s / %s / %s", ms(r.p50), ms(r.p99), ms(r.pmax))
	})
	row("request uploads (32 machines at a time)", func(r result) string { return thousands(r.requestsPerS) + "/s" })
	row("event uploads (batches of 500, 8 at a time)", func(r result) string { return thousands(r.eventsPerS) + " events/s" })
	if len(rs) == 2 {
		fmt.Printf("\nPostgreSQL / SQLite: enrol %.2f, decision p50 %.2f, p99 %.2f, request uploads %.2f, event uploads %.2f\n",
			rs[1].enrol/rs[0].enrol, float64(rs[1].p50)/float64(rs[0].p50), float64(rs[1].p99)/float64(rs[0].p99),
			rs[1].requestsPerS/rs[0].requestsPerS, rs[1].eventsPerS/rs[0].eventsPerS)
	}
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms"
}

func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// raiseFiles raises the soft limit on open files to what n connections'
// ends need in one process (one end each), up to the hard limit (beyond
// it as root, where that is allowed).
func raiseFiles(n int) {
	need := uint64(n + 200)
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = max(lim.Cur, min(need, lim.Max))
	if lim.Max < need && os.Geteuid() == 0 {
		lim.Cur, lim.Max = need, need
	}
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur < need {
		fail("open files limit %d is below the %d this needs (raise ulimit -n)", lim.Cur, need)
	}
}

var (
	exitMu   sync.Mutex
	exitFns  []func()
	exitOnce sync.Once
)

// atExit registers f to run at the end, normal or not (last registered,
// first run).
func atExit(f func()) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitFns = append(exitFns, f)
}

func cleanup() {
	exitOnce.Do(func() {
		exitMu.Lock()
		fns := slices.Clone(exitFns)
		exitMu.Unlock()
		for _, f := range slices.Backward(fns) {
			f()
		}
	})
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchconsole: "+format+"\n", args...)
	cleanup()
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}
