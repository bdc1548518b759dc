package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
)

// Connection limits. Each user (by uid, whoever acts for them) has a few
// connections; all users together have more; root and the console sync
// have their own, so that no user can lock them out (250 slow connections
// of one user used to take all 128 slots, root's status included).
const (
	maxConnsPerUser   = 16
	maxConnsUsers     = 128
	maxConnsPrivilege = 64
	// maxFiles is the most descriptors one request may carry: a program
	// (three for a bundle) and its parents.
	maxFiles = 3 + 32
)

// gate accepts connections, identifies each from the kernel's peer
// credentials at once, and admits it within its caller's limits. A refused
// connection gets a 503 that says why, and is closed.
type gate struct {
	net.Listener
	s   *Server
	log *slog.Logger

	mu        sync.Mutex
	perUser   map[uint32]int
	users     int
	privilege int

	refused atomic.Uint64
	warned  atomic.Int64 // unix seconds of the last warning
}

func newGate(l net.Listener, s *Server) *gate {
	return &gate{Listener: l, s: s, log: s.log, perUser: map[uint32]int{}}
}

func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			c.Close()
			return nil, fmt.Errorf("local API: not a unix socket: %T", c)
		}
		p, err := peerCred(uc)
		if err != nil {
			g.log.Warn("local API: no peer credentials; closing", "err", err)
			c.Close()
			continue
		}
		a := g.s.eng.Identify(p)
		release, why := g.admit(a)
		if release == nil {
			g.refuse(uc, a, why)
			continue
		}
		return &conn{UnixConn: uc, actor: a, release: release}, nil
	}
}

// admit takes a slot for a, or says why there is none.
func (g *gate) admit(a enforcer.Actor) (release func(), why string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a.Kind == enforcer.ActorRoot || a.Kind == enforcer.ActorConsoleSync {
		if g.privilege >= maxConnsPrivilege {
			return nil, fmt.Sprintf("too many connections from root and the console sync (%d)", maxConnsPrivilege)
		}
		g.privilege++
		return func() { g.mu.Lock(); g.privilege--; g.mu.Unlock() }, ""
	}
	switch {
	case g.perUser[a.UID] >= maxConnsPerUser:
		return nil, fmt.Sprintf("uid %d has %d connections open, the most one user may; close some and try again", a.UID, maxConnsPerUser)
	case g.users >= maxConnsUsers:
		return nil, fmt.Sprintf("users hold %d connections, the most the daemon serves; try again shortly", maxConnsUsers)
	}
	g.perUser[a.UID]++
	g.users++
	uid := a.UID
	return func() {
		g.mu.Lock()
		if g.perUser[uid]--; g.perUser[uid] == 0 {
			delete(g.perUser, uid)
		}
		g.users--
		g.mu.Unlock()
	}, ""
}

// refuse answers a connection over its limit with a 503 and closes it,
// without waiting on a client that does not read.
func (g *gate) refuse(c *net.UnixConn, a enforcer.Actor, why string) {
	n := g.refused.Add(1)
	if now := time.Now().Unix(); now-g.warned.Load() >= 10 {
		g.warned.Store(now)
		g.log.Warn("local API: connection refused", "actor", a.String(), "why", why, "refused_total", n)
	}
	body := fmt.Sprintf(`{"error":%q}`+"\n", why)
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	c.Close()
}

// conn is an admitted connection: its caller, its slot, and the
// descriptors the client sent with its bytes (SCM_RIGHTS).
type conn struct {
	*net.UnixConn
	actor   enforcer.Actor
	release func()
	once    sync.Once

	mu       sync.Mutex
	files    []*os.File
	overflow bool // more descriptors came than a request may carry
	oob      []byte
}

// Read reads like the socket's Read and keeps any descriptors that come
// with the bytes. They are closed unless a request takes them.
func (c *conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.oob == nil {
		c.oob = make([]byte, syscall.CmsgSpace(4*maxFiles))
	}
	oob := c.oob
	c.mu.Unlock()
	n, oobn, flags, _, err := c.UnixConn.ReadMsgUnix(p, oob)
	n = max(n, 0) // -1 with some errors; Read never returns less than 0
	if oobn > 0 || flags&syscall.MSG_CTRUNC != 0 {
		c.keep(oob[:oobn], flags&syscall.MSG_CTRUNC != 0)
	}
	return n, err
}

// keep takes the descriptors out of a control message.
func (c *conn) keep(oob []byte, truncated bool) {
	var fds []int
	if msgs, err := syscall.ParseSocketControlMessage(oob); err == nil {
		for i := range msgs {
			if rights, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, rights...)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if truncated {
		c.overflow = true
	}
	for _, fd := range fds {
		if len(c.files) >= maxFiles {
			c.overflow = true
			syscall.Close(fd)
			continue
		}
		c.files = append(c.files, os.NewFile(uintptr(fd), fmt.Sprintf("descriptor %d from the client", len(c.files)+1)))
	}
}

// take returns exactly n of the descriptors that came, and forgets them:
// the caller closes them.
func (c *conn) take(n int) ([]*os.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	files, overflow := c.files, c.overflow
	c.files, c.overflow = nil, false
	if overflow || len(files) != n {
		for _, f := range files {
			f.Close()
		}
		if overflow {
			return nil, badf("more descriptors came than a request may carry (%d)", maxFiles)
		}
		return nil, badf("the request says %d descriptors and %d came with it: send them with the request's first byte (SCM_RIGHTS)", n, len(files))
	}
	return files, nil
}

// drop closes descriptors no request took.
func (c *conn) drop() {
	c.mu.Lock()
	files := c.files
	c.files, c.overflow = nil, false
	c.mu.Unlock()
	for _, f := range files {
		f.Close()
	}
}

func (c *conn) Close() error {
	err := c.UnixConn.Close()
	c.once.Do(func() {
		c.drop()
		c.release()
	})
	return err
}

// fileSource hands a request the descriptors its client sent.
type fileSource interface {
	take(n int) ([]*os.File, error)
	drop()
}

type filesKey struct{}

// WithFiles returns ctx carrying files as the descriptors of the request
// (for in-process callers of Handler; Serve takes them from the socket).
// They stay the caller's to close.
func WithFiles(ctx context.Context, files []*os.File) context.Context {
	return context.WithValue(ctx, filesKey{}, &givenFiles{files: files})
}

type givenFiles struct{ files []*os.File }

func (g *givenFiles) take(n int) ([]*os.File, error) {
	if len(g.files) != n {
		return nil, badf("the request says %d descriptors and %d came with it", n, len(g.files))
	}
	// Copies the handler may close without closing the caller's.
	out := make([]*os.File, 0, n)
	for _, f := range g.files {
		fd, err := syscall.Dup(int(f.Fd()))
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, errors.New("dup: " + err.Error())
		}
		syscall.CloseOnExec(fd)
		out = append(out, os.NewFile(uintptr(fd), f.Name()))
	}
	return out, nil
}

func (g *givenFiles) drop() {}
