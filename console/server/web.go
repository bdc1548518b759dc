package server

import (
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/frontend"
)

// The console's pages (frontend/console) are served from the console
// itself, with a Content-Security-Policy that allows nothing from
// elsewhere, and no framing.
const pagePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageFiles are the files the pages are made of, by URL path, with their
// types.
var pageFiles = map[string]struct{ name, typ string }{
	"/":          {"console/index.html", "text/html; charset=utf-8"},
	"/app.js":    {"console/app.js", "text/javascript; charset=utf-8"},
	"/style.css": {"console/style.css", "text/css; charset=utf-8"},
	"/dom.js":    {"dist/dom.js", "text/javascript; charset=utf-8"},
}

func (s *Server) pages(w http.ResponseWriter, r *http.Request) {
	f, ok := pageFiles[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(frontend.Console, f.name)
	if err != nil {
		http.Error(w, "the console's pages are missing from this build", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.typ)
	h.Set("Content-Security-Policy", pagePolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
	w.Write(b)
}

// queue is the version of this node's request queue: it moves when a
// request is uploaded or voted on, here or (PostgreSQL) on another node,
// and the pages' long poll waits for it to move.
type queue struct {
	mu      sync.Mutex
	version uint64
	moved   chan struct{}
}

func newQueue() *queue { return &queue{version: 1, moved: make(chan struct{})} }

func (q *queue) bump() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.version++
	close(q.moved)
	q.moved = make(chan struct{})
}

func (q *queue) now() (uint64, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.version, q.moved
}

// queueChanges is GET /v1/admin/requests/changes?after=V&wait=25s: the
// queue's version once it is not V, or after wait (at most MaxWait).
func (s *Server) queueChanges(w http.ResponseWriter, r *http.Request, _ store.Token) {
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	wait := s.opt.MaxWait
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			s.reply(w, nil, fail(http.StatusBadRequest, "wait is a duration such as 25s"))
			return
		}
		wait = min(d, s.opt.MaxWait)
	}
	v, moved := s.queue.now()
	if v == after {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-moved:
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		v, _ = s.queue.now()
	}
	s.reply(w, map[string]uint64{"version": v}, nil)
}
