// benchconsole measures one console node on loopback: N simulated
// machines, each enrolled with its own certificate, each holding its
// decision long poll open; then decisions are made one at a time on random
// machines and the time until that machine's poll returns is taken; then
// request and event uploads are timed. Figures go to docs/benchmarks.md.
//
//	go run ./scripts/benchconsole -n 10000
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/console/store"
)

func main() {
	n := flag.Int("n", 1000, "simulated machines holding a poll open")
	decisions := flag.Int("decisions", 200, "decisions timed")
	uploads := flag.Int("uploads", 2000, "requests uploaded (and events, in batches of 500, ten times as many)")
	flag.Parse()
	// Both ends of every connection are in this process.
	need := uint64(2**n + 200)
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = max(lim.Cur, min(need, lim.Max))
	if lim.Max < need && os.Geteuid() == 0 {
		lim.Cur, lim.Max = need, need
	}
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur < need {
		fmt.Fprintf(os.Stderr, "open files limit %d is below the %d this needs (raise ulimit -n)\n", lim.Cur, need)
		os.Exit(1)
	}
	dir, _ := os.MkdirTemp("", "benchconsole-")
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "console.db"))
	check(err)
	ca, err := pki.Create(time.Now())
	check(err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(st, ca, server.Options{MaxWait: 10 * time.Minute, Logger: quiet})
	cert, err := ca.ServerCert([]string{"127.0.0.1"}, time.Now())
	check(err)
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.TLS = srv.TLSConfig(cert)
	ts.StartTLS()
	defer ts.Close()
	ctx := context.Background()
	secret := make([]byte, 32)
	rand.Read(secret)
	check(st.AddEnrollToken(ctx, server.EnrollSecretHash(secret), time.Now().Add(time.Hour), -1, nil, "bench", time.Now()))
	token := server.FormatEnrollToken(secret, ca.CAHash())

	fmt.Printf("enrolling %d machines…\n", *n)
	t0 := time.Now()
	clients := make([]*client.Client, *n)
	ids := make([]string, *n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range *n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, err := client.Enroll(ctx, ts.URL, token, fmt.Sprintf("m-%05d", i), nil)
			check(err)
			c, err := client.New(id)
			check(err)
			clients[i], ids[i] = c, id.MachineID
		}()
	}
	wg.Wait()
	fmt.Printf("enrolled in %v (%.0f/s)\n", time.Since(t0).Round(time.Millisecond), float64(*n)/time.Since(t0).Seconds())

	// One request per machine, so each has something to be decided.
	for i, c := range clients {
		_, err := c.UploadRequest(ctx, server.RequestUpload{EndpointID: 1, Created: time.Now(), UID: 501, User: "u", Kind: "approval", Path: fmt.Sprintf("/opt/%d", i)})
		check(err)
	}
	reqs, err := st.Requests(ctx, store.Pending)
	check(err)
	byMachine := map[string]int64{}
	for _, r := range reqs {
		byMachine[r.MachineID] = r.ID
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// Every machine holds a poll open.
	got := make([]chan time.Time, *n)
	var open atomic.Int64
	pctx, cancel := context.WithCancel(ctx)
	for i, c := range clients {
		got[i] = make(chan time.Time, 1)
		go func() {
			open.Add(1)
			ds, err := c.Decisions(pctx, 0, 9*time.Minute)
			if err == nil && len(ds) > 0 {
				got[i] <- time.Now()
			}
		}()
	}
	for open.Load() < int64(*n) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the polls are in the server
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perConn := float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse) / float64(*n)
	fmt.Printf("%d polls open: %.1f KiB per connection (heap + stacks, server and client sides together, this process)\n", *n, perConn/1024)

	tok := server.NewToken()
	check(st.AddAPIToken(ctx, server.HashToken(tok), store.Token{Name: "ann", Role: "approver"}, "bench", time.Now()))
	var lat []time.Duration
	for k := range min(*decisions, *n) {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(*n)))
		check(err)
		i := int(j.Int64())
		for byMachine[ids[i]] == 0 { // decided already: the next one
			i = (i + 1) % *n
		}
		id := byMachine[ids[i]]
		byMachine[ids[i]] = 0
		start := time.Now()
		_, d, err := st.CastVote(ctx, id, store.Vote{Voter: "ann", Approve: true}, time.Now(), func(d *store.Decision) []byte {
			return ca.Sign(signed.KindDecision, signed.DecisionFields(d.MachineID, d.EndpointID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)...)
		})
		check(err)
		srv.Wake(d.MachineID)
		select {
		case at := <-got[i]:
			lat = append(lat, at.Sub(start))
		case <-time.After(30 * time.Second):
			fmt.Fprintf(os.Stderr, "decision %d not received in 30 s\n", k)
			os.Exit(1)
		}
	}
	cancel()
	slices.Sort(lat)
	fmt.Printf("decision → machine with %d polls open: p50 %v, p99 %v, max %v (%d decisions)\n", *n,
		lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), len(lat))

	// Uploads: requests one by one, events in batches, from many machines at once.
	t0 = time.Now()
	var next atomic.Int64
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1)
				if k > int64(*uploads) {
					return
				}
				c := clients[int(k)%*n]
				_, err := c.UploadRequest(ctx, server.RequestUpload{EndpointID: 1000 + k, Created: time.Now(), UID: 501, User: "u", Kind: "approval", Path: "/opt/x"})
				check(err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("request uploads: %.0f/s (32 machines at a time)\n", float64(*uploads)/time.Since(t0).Seconds())
	t0 = time.Now()
	batches := *uploads * 10 / 500
	next.Store(0)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1)
				if k > int64(batches) {
					return
				}
				c := clients[int(k)%*n]
				evs := make([]server.EventWire, 500)
				for e := range evs {
					evs[e] = server.EventWire{ID: k*1000 + int64(e), Time: time.Now(), Kind: "exec", Action: "deny", Path: "/opt/x", UID: 501}
				}
				_, err := c.UploadEvents(ctx, evs)
				check(err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("event uploads: %.0f events/s (batches of 500, 8 machines at a time)\n", float64(batches*500)/time.Since(t0).Seconds())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchconsole:", err)
		os.Exit(1)
	}
}
