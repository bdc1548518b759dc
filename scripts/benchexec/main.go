//go:build linux

// Command benchexec measures what gatehoused costs a machine, with the real
// binaries and the real kernel: exec throughput with and without the
// enforcer, side by side in one run, and the daemon's memory with a
// 10,000-rule policy and a full facts cache. It prints a table and a
// markdown snippet for docs/benchmarks.md.
//
//	go run ./scripts/benchexec [flags]   (as root; scripts/bench-exec wraps it)
//
// Safety: a permission listener that hangs freezes every exec it marks. The
// daemon started here marks only a scratch tmpfs this program mounts (never
// /), gets SIGTERM when this program ends or dies (Pdeathsig), and the tmpfs
// is unmounted at the end. Run it under timeout(1) all the same.
package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
)

type options struct {
	n, rounds, warmup int
	rules             int
	rssRules          int
	files             int
	cacheEntries      int
	tmpfsSize         string
	seed              uint64
	auditAllow        bool
	only              string
	keep              bool
	profile           string
	processCriteria   bool
	overlay           string
	daemonEnv         listFlag
	kernelCache       bool
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var o options
	flag.IntVar(&o.n, "n", 5000, "measured execs per mode, over all rounds")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; each runs n/rounds baseline and n/rounds enforced execs, alternating which goes first")
	flag.IntVar(&o.warmup, "warmup", 50, "uncounted execs before each measured phase")
	flag.IntVar(&o.rules, "rules", 500, "rules in the policy of the exec benchmark")
	flag.IntVar(&o.rssRules, "rss-rules", 10_000, "rules in the policy of the memory benchmark")
	flag.IntVar(&o.files, "files", 100_000, "distinct files whose facts fill the cache in the memory benchmark")
	flag.IntVar(&o.cacheEntries, "cache-entries", 0, "cache_entries of the memory benchmark's daemon (0: files + 100, room for the benchmark's own parent chain, which the daemon caches too)")
	flag.StringVar(&o.tmpfsSize, "tmpfs-size", "1g", "size of the scratch tmpfs (each small file takes a 4 KiB page)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated policies")
	flag.BoolVar(&o.auditAllow, "audit-allow", false, "let the rule that allows the benchmark binary write an audit event per exec (default: audit: false, as for system binaries)")
	flag.StringVar(&o.only, "only", "", "run only one part: exec or rss")
	flag.BoolVar(&o.kernelCache, "kernel-cache", true, "let gatehoused's kernel cache remember the benchmark binary's plain allow (kernel_cache; false: every exec is held and decided)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (policies, daemon logs, database)")
	flag.BoolVar(&o.processCriteria, "process-criteria", true, "put argument and parent-process criteria in the generated policies (false: gatehoused then reads neither argv nor the parent chain of an exec)")
	flag.StringVar(&o.overlay, "overlay", "", "build gatehoused with go build -overlay `file`, relative to the repository root (to measure a change without editing the tree)")
	flag.Var(&o.daemonEnv, "daemon-env", "`KEY=VALUE` in gatehoused's environment, for example GOGC=50 (repeatable)")
	flag.StringVar(&o.profile, "profile", "", "write gatehoused CPU and heap profiles into `dir`, relative to the repository root (the daemon is then built with a pprof listener added through go build -overlay; figures include the profiling overhead)")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintf(os.Stderr, "benchexec: %v\n", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "benchexec: %v\n", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	switch {
	case o.rounds < 1 || o.n < o.rounds:
		return fmt.Errorf("-n %d -rounds %d: need at least one round and one exec per round", o.n, o.rounds)
	case o.warmup < 0:
		return errors.New("-warmup must be 0 or more")
	case o.rules < 20 || o.rssRules < 20:
		return errors.New("-rules and -rss-rules must be at least 20")
	case o.files < 1:
		return errors.New("-files must be at least 1")
	case o.only != "" && o.only != "exec" && o.only != "rss":
		return fmt.Errorf("-only %q: use exec or rss", o.only)
	}
	if o.profile != "" {
		abs, err := filepath.Abs(o.profile)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("-profile: %w", err)
		}
		o.profile = abs
	}
	if o.cacheEntries == 0 {
		o.cacheEntries = o.files + 100
	}
	return nil
}

// bench holds the work directory, the binaries and the scratch tmpfs.
type bench struct {
	opt    options
	ctx    context.Context
	root   string // module root
	dir    string // work directory: binaries, policies, logs, database
	mnt    string // the scratch tmpfs, the only thing ever marked
	daemon string // gatehoused binary
	cli    string // gatehouse binary
	prog   string // the static program, inside mnt
	static string // how prog was built
	rev    string // the source tree the binaries were built from
}

func run(o options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root: it mounts a scratch tmpfs and runs gatehoused, which marks it with fanotify; run it with sudo")
	}
	syscall.Umask(0o022)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b := &bench{opt: o, ctx: ctx}
	var err error
	if b.root, err = moduleRoot(ctx); err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "gatehouse-bench-"); err != nil {
		return err
	}
	os.Chmod(b.dir, 0o755)
	defer func() {
		if o.keep {
			fmt.Printf("\nwork directory kept: %s\n", b.dir)
			return
		}
		os.RemoveAll(b.dir)
	}()
	say("work directory %s", b.dir)
	b.rev = b.tree()
	if err := b.build(); err != nil {
		return err
	}
	b.mnt = filepath.Join(b.dir, "mnt")
	if err := os.Mkdir(b.mnt, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", b.mnt, "tmpfs", 0, "size="+o.tmpfsSize+",mode=0755"); err != nil {
		return fmt.Errorf("mount a scratch tmpfs on %s: %w", b.mnt, err)
	}
	// Deferred after the daemons' own stops (below, in each phase), so the
	// mark is gone before the unmount; MNT_DETACH in case a child lingers.
	defer func() {
		if err := syscall.Unmount(b.mnt, syscall.MNT_DETACH); err != nil {
			fmt.Fprintf(os.Stderr, "benchexec: unmount %s: %v\n", b.mnt, err)
		}
	}()
	if err := b.installProgram(); err != nil {
		return err
	}

	m := machine()
	fmt.Printf("\nmachine: %s\ntree:    %s\n", m, b.rev)
	if v := o.variant(); v != "" {
		fmt.Printf("variant: %s\n", v)
	}
	var ex *execResult
	var rs *rssResult
	if o.only != "rss" {
		if ex, err = b.execBench(); err != nil {
			return err
		}
		ex.print(os.Stdout)
	}
	if o.only != "exec" {
		if rs, err = b.rssBench(); err != nil {
			return err
		}
		rs.print(os.Stdout)
	}
	fmt.Printf("\n---- markdown ----\n\n")
	markdown(os.Stdout, m, b, ex, rs)
	return nil
}

// variant names the flags that change what is measured, "" for none.
func (o *options) variant() string {
	var v []string
	if !o.processCriteria {
		v = append(v, "-process-criteria=false")
	}
	if o.auditAllow {
		v = append(v, "-audit-allow")
	}
	for _, e := range o.daemonEnv {
		v = append(v, "-daemon-env "+e)
	}
	if o.overlay != "" {
		v = append(v, "-overlay "+o.overlay)
	}
	if o.profile != "" {
		v = append(v, "-profile (pprof listener, profiling overhead)")
	}
	return strings.Join(v, ", ")
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchexec: "+format+"\n", args...)
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the gatehouse module; run it from the repository (go run ./scripts/benchexec)")
	}
	return filepath.Dir(mod), nil
}

// build compiles gatehoused, the CLI and the static test program into the
// work directory.
func (b *bench) build() error {
	bin := filepath.Join(b.dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return err
	}
	b.daemon, b.cli = filepath.Join(bin, "gatehoused"), filepath.Join(bin, "gatehouse")
	for out, pkg := range map[string]string{b.daemon: "./cmd/gatehoused", b.cli: "./cmd/gatehouse"} {
		say("go build %s", pkg)
		args := []string{"build", "-o", out}
		if out == b.daemon && (b.opt.profile != "" || b.opt.overlay != "") {
			overlay, err := b.daemonOverlay()
			if err != nil {
				return err
			}
			args = append(args, "-overlay", overlay)
		}
		if err := b.cmd(5*time.Minute, b.root, nil, "go", append(args, pkg)...); err != nil {
			return err
		}
	}
	// The program: exits at once, statically linked so that the exec costs
	// the same in both modes and no loader or library is opened.
	src := filepath.Join(b.dir, "true.c")
	out := filepath.Join(bin, "true-static")
	if err := os.WriteFile(src, []byte("int main(void){return 0;}\n"), 0o644); err != nil {
		return err
	}
	err := b.cmd(time.Minute, b.dir, nil, "gcc", "-static", "-O2", "-o", out, src)
	b.static = "C, gcc -static -O2"
	if err != nil {
		say("gcc -static failed, using a CGO_ENABLED=0 Go program instead: %v", err)
		gosrc := filepath.Join(b.dir, "true.go")
		if err := os.WriteFile(gosrc, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			return err
		}
		if err := b.cmd(2*time.Minute, b.dir, []string{"CGO_ENABLED=0", "GO111MODULE=off"}, "go", "build", "-o", out, gosrc); err != nil {
			return err
		}
		b.static = "Go, CGO_ENABLED=0"
	}
	f, err := elf.Open(out)
	if err != nil {
		return fmt.Errorf("read the test program: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the benchmark needs a static program", out)
		}
	}
	return nil
}

// pprofSource is added to cmd/gatehoused by -profile, through go build
// -overlay (nothing in the repository changes): net/http/pprof and CPU
// profile start/stop on a Unix socket named by $GATEHOUSE_BENCH_PPROF.
const pprofSource = `package main

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/pprof"
	"sync"
)

func init() {
	sock := os.Getenv("GATEHOUSE_BENCH_PPROF")
	if sock == "" {
		return
	}
	var mu sync.Mutex
	var out *os.File
	http.HandleFunc("/bench/cpu/start", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.Create(r.URL.Query().Get("file"))
		if err == nil {
			if err = pprof.StartCPUProfile(f); err != nil {
				f.Close()
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out = f
	})
	http.HandleFunc("/bench/cpu/stop", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		pprof.StopCPUProfile()
		if out != nil {
			out.Close()
			out = nil
		}
	})
	l, err := net.Listen("unix", sock)
	if err != nil {
		panic(err)
	}
	go http.Serve(l, nil)
}
`

// daemonOverlay merges -overlay and the pprof listener of -profile into one
// go build -overlay file.
func (b *bench) daemonOverlay() (string, error) {
	var ov struct{ Replace map[string]string }
	if b.opt.overlay != "" {
		data, err := os.ReadFile(b.opt.overlay)
		if err != nil {
			return "", fmt.Errorf("-overlay: %w", err)
		}
		if err := json.Unmarshal(data, &ov); err != nil {
			return "", fmt.Errorf("-overlay %s: %w", b.opt.overlay, err)
		}
	}
	if ov.Replace == nil {
		ov.Replace = map[string]string{}
	}
	if b.opt.profile != "" {
		src := filepath.Join(b.dir, "zz_benchexec_pprof.go")
		if err := os.WriteFile(src, []byte(pprofSource), 0o644); err != nil {
			return "", err
		}
		ov.Replace[filepath.Join(b.root, "cmd", "gatehoused", "zz_benchexec_pprof.go")] = src
	}
	data, err := json.Marshal(ov)
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(b.dir, "overlay.json")
	return overlay, os.WriteFile(overlay, data, 0o644)
}

// cmd runs a build step under a timeout, with its output shown on failure.
func (b *bench) cmd(timeout time.Duration, dir string, env []string, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func (b *bench) installProgram() error {
	data, err := os.ReadFile(filepath.Join(b.dir, "bin", "true-static"))
	if err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(b.mnt, "bin"), 0o755); err != nil {
		return err
	}
	b.prog = filepath.Join(b.mnt, "bin", "true")
	return os.WriteFile(b.prog, data, 0o755)
}

// tree names the source measured: the commit, and whether files differ
// from it (others may be editing the tree while the benchmark runs).
func (b *bench) tree() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", b.root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	rev := strings.TrimSpace(string(out))
	// Docs and scripts do not go into the binaries.
	out, err = exec.CommandContext(ctx, "git", "-C", b.root, "status", "--porcelain", "--", ".", ":!docs", ":!scripts").Output()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		rev += " + uncommitted changes"
	}
	return rev
}

// machine describes where the figures come from.
func machine() string {
	var u syscall.Utsname
	syscall.Uname(&u)
	release := cstr(u.Release[:])
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	distro := "Linux"
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				distro = strings.Trim(v, `"`)
			}
		}
	}
	return fmt.Sprintf("%s, kernel %s, %d vCPUs (%s), %s", distro, release, runtime.NumCPU(), cpu, runtime.Version())
}

func cstr(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// ---- the daemon ----

type daemonProc struct {
	b     *bench
	cmd   *exec.Cmd
	done  chan error
	sock  string
	log   string
	pprof *http.Client // nil unless -profile
}

// startDaemon runs gatehoused on policy with the scratch tmpfs as its only
// mount and waits until its API answers. The time this takes is not
// measured.
func (b *bench) startDaemon(name, policy string, cacheEntries int, kernelCache bool) (*daemonProc, error) {
	state := filepath.Join(b.dir, "state-"+name)
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	d := &daemonProc{b: b, sock: filepath.Join(state, "gatehoused.sock"), log: filepath.Join(state, "gatehoused.log")}
	cfg := filepath.Join(state, "gatehoused.yaml")
	conf := fmt.Sprintf("policy: %s\ndatabase: %s\nsocket: %s\nmounts: [%s]\ncache_entries: %d\ntty_messages: false\nkernel_cache: %v\n",
		policy, filepath.Join(state, "gatehouse.db"), d.sock, b.mnt, cacheEntries, kernelCache)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d.cmd = exec.Command(b.daemon, "--config", cfg)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Env = append(os.Environ(), b.opt.daemonEnv...)
	if b.opt.profile != "" {
		sock := filepath.Join(state, "pprof.sock")
		os.Remove(sock)
		d.cmd.Env = append(d.cmd.Env, "GATEHOUSE_BENCH_PPROF="+sock)
		d.pprof = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}}}
	}
	// If this program dies without stopping it, the daemon stops too (and
	// the kernel drops its mark).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gatehoused: %w", err)
	}
	d.done = make(chan error, 1)
	go func() { d.done <- d.cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := d.status(); err == nil {
			return d, nil
		} else if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("gatehoused API not up within 2 minutes: %v\n%s", err, d.logTail())
		}
		select {
		case werr := <-d.done:
			d.done <- werr
			return nil, fmt.Errorf("gatehoused exited at start: %v\n%s", werr, d.logTail())
		case <-b.ctx.Done():
			d.stop()
			return nil, b.ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits; the kernel allows anything still held.
func (d *daemonProc) stop() error {
	if d.cmd == nil {
		return nil
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-d.done:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		err = errors.New("gatehoused did not stop within 20s of SIGTERM; killed")
	}
	d.cmd = nil
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			err = nil // it got our SIGTERM (or the process group's) before installing its handler
		}
	}
	if err != nil {
		return fmt.Errorf("gatehoused stop: %v\n%s", err, d.logTail())
	}
	return nil
}

func (d *daemonProc) logTail() string {
	data, _ := os.ReadFile(d.log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// cliJSON runs the gatehouse CLI against the daemon and decodes its JSON.
func (d *daemonProc) cliJSON(v any, args ...string) error {
	ctx, cancel := context.WithTimeout(d.b.ctx, 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, d.b.cli, append(args, "--json", "--socket", d.sock)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return fmt.Errorf("gatehouse %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return json.Unmarshal(out, v)
}

func (d *daemonProc) status() (localapi.Status, error) {
	var st localapi.Status
	err := d.cliJSON(&st, "status")
	return st, err
}

// mem is what /proc/PID/status says about a process's memory, in bytes.
type mem struct {
	rss, hwm   uint64 // VmRSS, VmHWM
	anon, file uint64 // RssAnon (heap, stacks), RssFile (the mapped binary and libraries)
}

// memory returns the daemon's memory figures.
func (d *daemonProc) memory() (mem, error) {
	var m mem
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return m, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n << 10
		case "VmHWM":
			m.hwm = n << 10
		case "RssAnon":
			m.anon = n << 10
		case "RssFile":
			m.file = n << 10
		}
	}
	if m.rss == 0 {
		return m, fmt.Errorf("no VmRSS in /proc/%d/status", d.cmd.Process.Pid)
	}
	return m, nil
}

// profileGet saves what the daemon's pprof listener answers for path
// into file under the -profile directory. Without -profile it does nothing.
func (d *daemonProc) profileGet(path, file string) error {
	if d.pprof == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(d.b.ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://gatehoused"+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.pprof.Do(req)
	if err != nil {
		return fmt.Errorf("gatehoused pprof %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gatehoused pprof %s: %s: %s", path, resp.Status, body)
	}
	if file == "" {
		return nil
	}
	return os.WriteFile(filepath.Join(d.b.opt.profile, file), body, 0o644)
}

func (d *daemonProc) cpuProfileStart(file string) error {
	return d.profileGet("/bench/cpu/start?file="+url.QueryEscape(filepath.Join(d.b.opt.profile, file)), "")
}

func (d *daemonProc) cpuProfileStop() error { return d.profileGet("/bench/cpu/stop", "") }

// cpu returns the daemon's user+system CPU time so far.
func (d *daemonProc) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// ---- exec throughput ----

type round struct {
	index              int
	enforcedFirst      bool
	baseline, enforced float64 // exec/s
	p50, p99           time.Duration
	daemonExecs        uint64
	daemonCPUPerExec   time.Duration
	timeouts, errors   uint64
}

type execResult struct {
	perRound    int
	warmup      int
	rules, defs int
	benchRule   int
	auditAllow  bool
	rounds      []round
}

func (r *execResult) medians() (base, enf, ratio float64, p50, p99, cpu time.Duration) {
	var bs, es []float64
	var p50s, p99s, cpus []time.Duration
	for _, x := range r.rounds {
		bs, es = append(bs, x.baseline), append(es, x.enforced)
		p50s, p99s, cpus = append(p50s, x.p50), append(p99s, x.p99), append(cpus, x.daemonCPUPerExec)
	}
	base, enf = median(bs), median(es)
	return base, enf, enf / base, median(p50s), median(p99s), median(cpus)
}

func (b *bench) execBench() (*execResult, error) {
	o := b.opt
	per := o.n / o.rounds
	policyText, gen := generatePolicy(o.rules, b.mnt, o.seed, o.auditAllow, o.processCriteria)
	policy := filepath.Join(b.dir, fmt.Sprintf("policy-%d.yaml", o.rules))
	if err := b.writePolicy(policy, policyText); err != nil {
		return nil, err
	}
	res := &execResult{perRound: per, warmup: o.warmup, rules: o.rules, defs: gen.defs, benchRule: gen.benchRule, auditAllow: o.auditAllow}
	say("exec benchmark: %d rounds of %d baseline and %d enforced execs of %s (policy: %d rules, %d definitions; the program's rule is #%d)",
		o.rounds, per, per, b.prog, o.rules, gen.defs, gen.benchRule)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	attr := &syscall.ProcAttr{Dir: "/", Env: []string{}, Files: []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()}}

	baseline := func() (float64, error) {
		if err := b.forkExec(b.prog, o.warmup, attr); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := b.forkExec(b.prog, per, attr); err != nil {
			return 0, err
		}
		return float64(per) / time.Since(start).Seconds(), nil
	}
	checked := false
	enforced := func(r *round) (float64, error) {
		d, err := b.startDaemon("exec", policy, 100_000, o.kernelCache)
		if err != nil {
			return 0, err
		}
		defer d.stop()
		if !checked {
			// The program must be decided by the rule near the end, so
			// every exec walks the policy as a realistic one would.
			var cr localapi.CheckResult
			if err := d.cliJSON(&cr, "check", b.prog); err != nil {
				return 0, err
			}
			if !cr.Allowed || cr.Rule != gen.benchRule {
				return 0, fmt.Errorf("gatehouse check %s: %s by rule %d, want allow by rule %d", b.prog, cr.Action, cr.Rule, gen.benchRule)
			}
			checked = true
		}
		if err := b.forkExec(b.prog, o.warmup, attr); err != nil {
			return 0, err
		}
		profiled := r.index == o.rounds-1
		if profiled {
			if err := d.cpuProfileStart("cpu-exec.pprof"); err != nil {
				return 0, err
			}
		}
		cpu0 := d.cpu()
		start := time.Now()
		if err := b.forkExec(b.prog, per, attr); err != nil {
			return 0, err
		}
		rate := float64(per) / time.Since(start).Seconds()
		cpu := d.cpu() - cpu0
		if profiled {
			if err := d.cpuProfileStop(); err != nil {
				return 0, err
			}
		}
		st, err := d.status()
		if err != nil {
			return 0, err
		}
		c := st.Counters
		r.p50, r.p99 = time.Duration(c["decision_p50_ns"]), time.Duration(c["decision_p99_ns"])
		r.daemonExecs, r.timeouts, r.errors = c["execs"], c["budget_timeouts"], c["internal_errors"]
		r.daemonCPUPerExec = cpu / time.Duration(per)
		if want := uint64(o.warmup + per); r.daemonExecs < want && !o.kernelCache {
			return 0, fmt.Errorf("gatehoused counted %d execs, want %d: execs on the tmpfs were not all held", r.daemonExecs, want)
		}
		if r.daemonExecs == 0 {
			return 0, fmt.Errorf("gatehoused counted no execs: the tmpfs was not held at all")
		}
		if err := d.stop(); err != nil {
			return 0, err
		}
		return rate, nil
	}

	for i := range o.rounds {
		r := round{index: i, enforcedFirst: i%2 == 1}
		var err error
		if r.enforcedFirst {
			if r.enforced, err = enforced(&r); err == nil {
				r.baseline, err = baseline()
			}
		} else {
			if r.baseline, err = baseline(); err == nil {
				r.enforced, err = enforced(&r)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", i+1, err)
		}
		say("round %d: baseline %.0f exec/s, enforced %.0f exec/s (%.3f), decision p50 %v p99 %v",
			i+1, r.baseline, r.enforced, r.enforced/r.baseline, r.p50, r.p99)
		res.rounds = append(res.rounds, r)
	}
	return res, nil
}

// forkExec runs path n times, one after the other, and checks each exits 0.
// syscall.ForkExec (vfork-style clone) and Wait4 keep the benchmark's own
// overhead low and identical in both modes.
func (b *bench) forkExec(path string, n int, attr *syscall.ProcAttr) error {
	argv := []string{path}
	for i := range n {
		if i%64 == 0 && b.ctx.Err() != nil {
			return b.ctx.Err()
		}
		pid, err := syscall.ForkExec(path, argv, attr)
		if err != nil {
			return fmt.Errorf("exec %s: %w", path, err)
		}
		var ws syscall.WaitStatus
		for {
			_, err = syscall.Wait4(pid, &ws, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("wait for %s: %w", path, err)
		}
		if !ws.Exited() || ws.ExitStatus() != 0 {
			if b.ctx.Err() != nil {
				return b.ctx.Err() // the process group got our SIGINT or SIGTERM too
			}
			return fmt.Errorf("%s: exit status %v", path, ws)
		}
	}
	return nil
}

func (b *bench) writePolicy(path, text string) error {
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	// Not --strict: the synthetic policy allows by name on purpose (as
	// many real ones do), which lint rightly warns about; errors still
	// stop the benchmark.
	out, err := exec.CommandContext(ctx, b.cli, "policy", "lint", "--portable", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("the generated policy does not lint (gatehouse policy lint %s): %v\n%s", path, err, out)
	}
	return nil
}

func (r *execResult) print(w io.Writer) {
	fmt.Fprintf(w, "\nExec throughput: %d rounds x %d execs per mode (+%d warm-up each), policy of %d rules / %d definitions, program decided by rule %d (allow, audit %v)\n\n",
		len(r.rounds), r.perRound, r.warmup, r.rules, r.defs, r.benchRule, r.auditAllow)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "round\tfirst\tbaseline exec/s\tenforced exec/s\tratio\tdecision p50\tp99\tdaemon CPU/exec\tdaemon execs\ttimeouts\terrors\t\n")
	for i, x := range r.rounds {
		first := "baseline"
		if x.enforcedFirst {
			first = "enforced"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%.0f\t%.3f\t%v\t%v\t%v\t%d\t%d\t%d\t\n", i+1, first, x.baseline, x.enforced, x.enforced/x.baseline,
			us(x.p50), us(x.p99), us(x.daemonCPUPerExec), x.daemonExecs, x.timeouts, x.errors)
	}
	base, enf, ratio, p50, p99, cpu := r.medians()
	fmt.Fprintf(tw, "median\t\t%.0f\t%.0f\t%.3f\t%v\t%v\t%v\t\t\t\t\n", base, enf, ratio, us(p50), us(p99), us(cpu))
	tw.Flush()
	fmt.Fprintf(w, "\nratio enforced/baseline (medians): %.3f (target >= 0.93: %s)\n", ratio, verdict(ratio >= 0.93))
	fmt.Fprintf(w, "per exec: baseline %v, enforced %v, added %v\n", us(perExec(base)), us(perExec(enf)), us(perExec(enf)-perExec(base)))
}

func perExec(rate float64) time.Duration { return time.Duration(float64(time.Second) / rate) }

func us(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// ---- memory ----

type rssResult struct {
	rules, defs             int
	files, cacheMax         int
	start, full, settled    mem
	entries, execs, misses  uint64
	flushes, timeouts, errs uint64
	fill, hits              time.Duration
	startup                 time.Duration
	p50, p99                time.Duration
}

func (b *bench) rssBench() (*rssResult, error) {
	o := b.opt
	res := &rssResult{rules: o.rssRules, files: o.files, cacheMax: o.cacheEntries}
	say("memory benchmark: creating %d files in %s", o.files, b.mnt)
	paths, err := b.makeFiles(o.files)
	if err != nil {
		return nil, err
	}
	policyText, gen := generatePolicy(o.rssRules, b.mnt, o.seed, false, o.processCriteria)
	res.defs = gen.defs
	policy := filepath.Join(b.dir, fmt.Sprintf("policy-%d.yaml", o.rssRules))
	if err := b.writePolicy(policy, policyText); err != nil {
		return nil, err
	}
	say("memory benchmark: gatehoused with %d rules (%d definitions), cache_entries %d", o.rssRules, gen.defs, o.cacheEntries)
	t0 := time.Now()
	// Without the kernel cache, so that the second pass is seen (and
	// measured) by gatehoused as cache hits.
	d, err := b.startDaemon("rss", policy, o.cacheEntries, false)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	res.startup = time.Since(t0)
	time.Sleep(time.Second) // let start-up settle (grants load, first audit writes)
	if res.start, err = d.memory(); err != nil {
		return nil, err
	}
	st0, err := d.status()
	if err != nil {
		return nil, err
	}

	say("memory benchmark: exec attempts on %d files (each fails with ENOEXEC after fanotify asked the daemon)", len(paths))
	if err := d.profileGet("/debug/pprof/heap?gc=1", "heap-start.pprof"); err != nil {
		return nil, err
	}
	if err := d.cpuProfileStart("cpu-fill.pprof"); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := b.execAttempts(paths); err != nil {
		return nil, err
	}
	res.fill = time.Since(start)
	if err := d.cpuProfileStop(); err != nil {
		return nil, err
	}
	st, err := d.status()
	if err != nil {
		return nil, err
	}
	if res.full, err = d.memory(); err != nil {
		return nil, err
	}
	// After the RSS is read: the heap profile's forced GC changes it.
	if err := d.profileGet("/debug/pprof/heap?gc=1", "heap-full.pprof"); err != nil {
		return nil, err
	}
	if err := d.profileGet("/debug/pprof/heap?debug=1", "heap-full.txt"); err != nil {
		return nil, err
	}
	c := st.Counters
	res.entries, res.execs, res.misses = c["cache_entries"], c["execs"]-st0.Counters["execs"], c["cache_misses"]-st0.Counters["cache_misses"]
	res.timeouts, res.errs = c["budget_timeouts"], c["internal_errors"]
	res.p50, res.p99 = time.Duration(c["decision_p50_ns"]), time.Duration(c["decision_p99_ns"])
	if res.execs < uint64(len(paths)) || res.entries < uint64(len(paths)) {
		return nil, fmt.Errorf("after %d exec attempts gatehoused counted %d execs and holds %d cache entries: the attempts did not all reach it",
			len(paths), res.execs, res.entries)
	}

	// Second pass: the same files again, now cache hits.
	start = time.Now()
	if err := b.execAttempts(paths); err != nil {
		return nil, err
	}
	res.hits = time.Since(start)
	time.Sleep(5 * time.Second)
	if res.settled, err = d.memory(); err != nil {
		return nil, err
	}
	st, err = d.status()
	if err != nil {
		return nil, err
	}
	res.entries = max(res.entries, st.Counters["cache_entries"])
	if err := d.stop(); err != nil {
		return nil, err
	}
	if n := strings.Count(d.logTail(), "fact cache flushed"); n > 0 {
		return nil, fmt.Errorf("the fact cache was flushed %d times during the benchmark; raise -cache-entries", n)
	}
	return res, nil
}

// makeFiles creates n distinct 16-byte files, mode 0755, in 100 folders.
// They start with printable bytes (so the kernel does not look for a
// binfmt module), not with "#!" and not with an ELF header: execve opens
// them, fanotify asks the daemon, and then no binary format claims them.
func (b *bench) makeFiles(n int) ([]string, error) {
	root := filepath.Join(b.mnt, "files")
	paths := make([]string, 0, n)
	for i := range n {
		if i%1024 == 0 && b.ctx.Err() != nil {
			return nil, b.ctx.Err()
		}
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i%100))
		if i < 100 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("f%07d", i))
		content := fmt.Sprintf("gh-bench%07d\n", i)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			return nil, fmt.Errorf("create %s (is -tmpfs-size %s big enough?): %w", p, b.opt.tmpfsSize, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// execAttempts execve's every path from this process. Each fails with
// ENOEXEC after the kernel's exec-open, which is where fanotify holds the
// exec for the daemon, so no fork is needed and this process stays itself.
func (b *bench) execAttempts(paths []string) error {
	argv, env := []string{"gh-bench"}, []string{}
	for i, p := range paths {
		if i%256 == 0 && b.ctx.Err() != nil {
			return b.ctx.Err()
		}
		err := syscall.Exec(p, argv, env)
		if err != syscall.ENOEXEC {
			return fmt.Errorf("execve %s: %v, want ENOEXEC", p, err)
		}
	}
	return nil
}

func (r *rssResult) print(w io.Writer) {
	fmt.Fprintf(w, "\nMemory: gatehoused with %d rules (%d definitions), cache_entries %d, %d distinct files\n\n", r.rules, r.defs, r.cacheMax, r.files)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "gatehoused\tVmRSS\tVmHWM\tRssAnon\tRssFile\t\n")
	row := func(what string, m mem) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", what, mb(m.rss), mb(m.hwm), mb(m.anon), mb(m.file))
	}
	row(fmt.Sprintf("after start-up (policy loaded, cache empty, %v to start)", r.startup.Round(time.Millisecond)), r.start)
	row(fmt.Sprintf("after %d cache misses (%d cache entries)", r.execs, r.entries), r.full)
	row("after a second pass (cache hits) and 5 s idle", r.settled)
	tw.Flush()
	fmt.Fprintf(w, "\nVmRSS with the full cache %s, target <= 40 MB: %s (peak VmHWM %s)\n", mb(r.full.rss), verdict(r.full.rss <= 40e6), mb(r.full.hwm))
	fmt.Fprintf(w, "exec attempts, cache misses (new files, hashed): %d in %v, %.0f /s\n", r.files, r.fill.Round(time.Millisecond), float64(r.files)/r.fill.Seconds())
	fmt.Fprintf(w, "exec attempts, cache hits (same files again): %d in %v, %.0f /s\n", r.files, r.hits.Round(time.Millisecond), float64(r.files)/r.hits.Seconds())
	fmt.Fprintf(w, "decision p50 %v p99 %v (last 4096), budget_timeouts %d, internal_errors %d\n", us(r.p50), us(r.p99), r.timeouts, r.errs)
}

func mb(n uint64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// ---- the markdown snippet ----

func markdown(w io.Writer, m string, b *bench, ex *execResult, rs *rssResult) {
	fmt.Fprintf(w, "Run: `sudo timeout 1800 ./scripts/bench-exec` (%s, tree %s). Machine: %s.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), b.rev, m)
	if v := b.opt.variant(); v != "" {
		fmt.Fprintf(w, "Variant: %s.\n", v)
	}
	if ex != nil {
		base, enf, ratio, p50, p99, cpu := ex.medians()
		fmt.Fprintf(w, "\nExec throughput: a static program (%s) on the scratch tmpfs, fork+exec+wait one after the other; %d rounds of %d execs per mode (+%d warm-up), alternating which mode goes first; gatehoused restarted for every enforced phase. Policy: %d rules, %d definitions; the program is allowed by rule %d.\n\n",
			b.static, len(ex.rounds), ex.perRound, ex.warmup, ex.rules, ex.defs, ex.benchRule)
		fmt.Fprintf(w, "| round | first | baseline exec/s | enforced exec/s | ratio | decision p50 | decision p99 |\n")
		fmt.Fprintf(w, "|---:|---|---:|---:|---:|---:|---:|\n")
		for i, x := range ex.rounds {
			first := "baseline"
			if x.enforcedFirst {
				first = "enforced"
			}
			fmt.Fprintf(w, "| %d | %s | %.0f | %.0f | %.3f | %s | %s |\n", i+1, first, x.baseline, x.enforced, x.enforced/x.baseline, us(x.p50), us(x.p99))
		}
		fmt.Fprintf(w, "| **median** | | **%.0f** | **%.0f** | **%.3f** | **%s** | **%s** |\n", base, enf, ratio, us(p50), us(p99))
		var to, ie uint64
		for _, x := range ex.rounds {
			to, ie = to+x.timeouts, ie+x.errors
		}
		fmt.Fprintf(w, "\nTarget ratio ≥ 0.93: %s. Per exec: %s baseline, %s enforced (+%s); gatehoused CPU per exec %s (median). budget_timeouts %d, internal_errors %d.\n",
			verdict(ratio >= 0.93), us(perExec(base)), us(perExec(enf)), us(perExec(enf)-perExec(base)), us(cpu), to, ie)
	}
	if rs != nil {
		fmt.Fprintf(w, "\nMemory: %d rules (%d definitions), `cache_entries: %d`, %d distinct 16-byte files exec'd once each (execve fails with ENOEXEC after fanotify asked the daemon).\n\n",
			rs.rules, rs.defs, rs.cacheMax, rs.files)
		fmt.Fprintf(w, "| gatehoused | VmRSS | VmHWM (peak) | RssAnon | RssFile |\n|---|---:|---:|---:|---:|\n")
		fmt.Fprintf(w, "| after start-up (policy compiled, cache empty) | %s | %s | %s | %s |\n", mb(rs.start.rss), mb(rs.start.hwm), mb(rs.start.anon), mb(rs.start.file))
		fmt.Fprintf(w, "| %d cache entries | **%s** | %s | %s | %s |\n", rs.entries, mb(rs.full.rss), mb(rs.full.hwm), mb(rs.full.anon), mb(rs.full.file))
		fmt.Fprintf(w, "| after a second pass (hits) and 5 s idle | %s | %s | %s | %s |\n", mb(rs.settled.rss), mb(rs.settled.hwm), mb(rs.settled.anon), mb(rs.settled.file))
		fmt.Fprintf(w, "\nTarget ≤ 40 MB: %s. Filling took %v (%.0f cache misses/s, each hashed); the second pass %v (%.0f hits/s). Decision p50 %s, p99 %s; budget_timeouts %d, internal_errors %d.\n",
			verdict(rs.full.rss <= 40e6), rs.fill.Round(time.Millisecond), float64(rs.files)/rs.fill.Seconds(),
			rs.hits.Round(time.Millisecond), float64(rs.files)/rs.hits.Seconds(), us(rs.p50), us(rs.p99), rs.timeouts, rs.errs)
	}
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ---- the generated policy ----

type generated struct {
	defs      int
	benchRule int // 1-based index of the rule that allows everything on the tmpfs
}

// generatePolicy writes a policy of the given number of rules shaped like a
// real one that grew over time: one group per rule with one to three
// definitions mixing exact paths, folder prefixes and suffixes, SHA-256
// hashes, bundle ids (some with version ranges), anchored regexes, a few
// contains criteria, negations, argument criteria and parent-process
// criteria on a shells group; actions mixed; some rules scoped to users.
// Nothing in it matches the tmpfs except the rule ten from the end, which
// allows everything under it: every exec of the benchmark walks the policy
// to there.
func generatePolicy(rules int, mnt string, seed uint64, auditAllow, processCriteria bool) (string, generated) {
	r := rand.New(rand.NewPCG(seed, uint64(rules)))
	g := generated{benchRule: rules - 10}
	var groups, rs strings.Builder
	if processCriteria {
		groups.WriteString(`  - name: shells
    description: Interactive shells, used as parent processes.
    definitions:
      - type: binary
        path: {regex: '^/(usr/)?bin/(bash|dash|sh|zsh|ksh)$'}
      - {type: binary, path: /usr/local/bin/fish}
      - {type: binary, path: /opt/homebrew/bin/bash}
`)
		g.defs += 3
	}
	n := 0
	hex := func(digits int) string {
		var b []byte
		for len(b) < digits {
			b = fmt.Appendf(b, "%016x", r.Uint64())
		}
		return string(b[:digits])
	}
	for i := 1; i <= rules; i++ {
		if i == g.benchRule {
			fmt.Fprintf(&groups, "  - name: bench-scratch\n    description: The benchmark's scratch tmpfs.\n    definitions:\n      - {path: {starts_with: '%s/'}}\n", mnt)
			fmt.Fprintf(&rs, "  - {name: bench-scratch, group: bench-scratch, action: allow, audit: %v}\n", auditAllow)
			g.defs++
			continue
		}
		name := fmt.Sprintf("g%05d", i)
		fmt.Fprintf(&groups, "  - name: %s\n    definitions:\n", name)
		for range 1 + r.IntN(3) {
			n++
			id := fmt.Sprintf("%06d", n)
			var d string
			k := r.IntN(100)
			switch {
			case !processCriteria && k >= 93:
				k -= 93 // an exact path instead
			case n == 1 && processCriteria:
				k = 99 // a parent criterion in every policy, so the shells group is used
			}
			switch {
			case k < 28:
				d = "{path: /usr/local/bin/tool" + id + "}"
			case k < 52:
				d = "{sha256: " + hex(64) + "}"
			case k < 62:
				d = "{path: {starts_with: /opt/vendor" + id + "/}}"
			case k < 67:
				d = "{path: {ends_with: /vendor" + id + "-helper}}"
			case k < 75:
				d = "{type: bundle, bundle_id: com.vendor" + id + ".app}"
			case k < 79:
				d = "{type: bundle, bundle_id: com.vendor" + id + ".app, version: {min: '2.0', max: '3.9.9'}}"
			case k < 87:
				d = "{path: {regex: '^/opt/vendor" + id + "/bin/[a-z]+$'}}"
			case k < 90:
				d = "{path: {contains: /vendor" + id + "-cache/}}"
			case k < 93:
				d = "{type: bundle, path: {starts_with: /Applications/Vendor" + id + "/}, publisher: {contains: Vendor" + id + ", not: true}}"
			case k < 96:
				d = "{type: [binary, script], path: /usr/local/bin/tool" + id + ", args: {contains: --vendor" + id + "-unsafe}}"
			default:
				d = fmt.Sprintf("{type: [binary, script], path: /usr/local/bin/script%s, parent: {group: shells, any_ancestor: %v}}", id, n%2 == 0)
			}
			fmt.Fprintf(&groups, "      - %s\n", d)
			g.defs++
		}
		rule := fmt.Sprintf("name: r%05d, group: %s", i, name)
		switch k := r.IntN(100); {
		case k < 45:
			rule += ", action: allow"
		case k < 50:
			rule += ", action: allow, audit: false"
		case k < 70:
			rule += ", action: audit"
		case k < 78:
			rule += ", action: deny"
		case k < 85:
			rule += `, action: deny, message: {title: "{name} is blocked", url: "https://help.example.com/blocked?app={path}&sha256={sha256}"}`
		case k < 93:
			rule += `, action: justification, min_justification: 10, message: {title: "Why do you need {name}?"}`
		default:
			rule += `, action: warning, message: {title: "{name} is not recommended", body: "Continue only if you trust it."}`
		}
		switch k := r.IntN(100); {
		case k < 5:
			rule += ", exclude_users: [root]"
		case k < 8:
			rule += ", user_groups: [engineering]"
		}
		fmt.Fprintf(&rs, "  - {%s}\n", rule)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "# Generated by scripts/benchexec (seed %d): %d rules, %d definitions.\nid: bench-%d\nrevision: 1\ndefault: audit\ngroups:\n%srules:\n%s",
		seed, rules, g.defs, rules, groups.String(), rs.String())
	return out.String(), g
}
