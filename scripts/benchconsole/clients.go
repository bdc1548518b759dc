package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/console/server"
)

// clients is the machines' process. It reads commands from stdin, one a
// line, and answers each on stdout with a line starting with the
// command's word; a decision a poll returned is the line "got MACHINE
// UNIXNANO", written as it arrives. It ends at the end of its input (or
// when the console node's process dies: Pdeathsig).
//
//	enroll URL TOKEN N   enrol N machines, 32 at a time      enrolled
//	poll                 every machine waits for a decision  polling
//	mem                  heap+stacks and Sys grown since poll (bytes)  mem HEAP SYS
//	stop                 hang up the polls still waiting     stop
//	requests K           upload K requests, 32 machines at a time  requests
//	events B             upload B batches of 500 events, 8 at a time  events
func clients() {
	var outMu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		check(out.Flush())
	}
	ctx := context.Background()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cs []*client.Client
	var ids []string
	var before runtime.MemStats
	var polls sync.WaitGroup
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<20)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "enroll":
			if len(f) != 4 {
				fail("machines: enroll URL TOKEN N, not %q", in.Text())
			}
			url, token := f[1], f[2]
			n, err := strconv.Atoi(f[3])
			check(err)
			raiseFiles(n)
			cs, ids = make([]*client.Client, n), make([]string, n)
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= n {
							return
						}
						id, err := client.Enroll(ctx, url, token, client.Machine{Hostname: fmt.Sprintf("m-%05d", i)})
						check(err)
						c, err := client.New(id)
						check(err)
						cs[i], ids[i] = c, id.MachineID
					}
				}()
			}
			wg.Wait()
			say("enrolled")
		case "poll":
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i, c := range cs {
				polls.Add(1)
				go func() {
					defer polls.Done()
					ds, _, err := c.Decisions(pctx, 0, 9*time.Minute)
					switch {
					case err == nil && len(ds) > 0:
						say("got %s %d", ids[i], time.Now().UnixNano())
					case pctx.Err() != nil:
					case err != nil:
						fail("machines: %s's poll: %v", ids[i], err)
					default:
						fail("machines: %s's poll returned no decision", ids[i])
					}
				}()
			}
			say("polling")
		case "mem":
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			say("mem %d %d", int64(after.HeapInuse+after.StackInuse)-int64(before.HeapInuse+before.StackInuse), int64(after.Sys)-int64(before.Sys))
		case "stop":
			cancel()
			polls.Wait()
			say("stop")
		case "requests", "events":
			if len(f) != 2 {
				fail("machines: %s COUNT, not %q", f[0], in.Text())
			}
			count, err := strconv.Atoi(f[1])
			check(err)
			workers := 32
			if f[0] == "events" {
				workers = 8
			}
			var wg sync.WaitGroup
			var next atomic.Int64
			for w := range min(workers, len(cs)) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := cs[w] // each worker one machine, on its kept-alive connection
					for {
						k := next.Add(1)
						if k > int64(count) {
							return
						}
						if f[0] == "requests" {
							_, err := c.UploadRequest(ctx, server.RequestUpload{EndpointID: 1000 + k, Created: time.Now(), UID: 501, User: "u", Kind: "approval", Path: "/opt/x"})
							check(err)
							continue
						}
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
			say("%s", f[0])
		default:
			fail("machines: unknown command %q", in.Text())
		}
	}
	check(in.Err())
}
