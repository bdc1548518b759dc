package enforcer

import (
	"context"
	"os"
	"time"
)

// Exec is one program start held by the kernel until Respond is called.
//
// The seam carries what Endpoint Security has and fanotify lacks: a
// deadline by which the kernel must have its answer (zero for none; ES
// kills a client that misses it), and whether the answer may be cached by
// the kernel.
type Exec interface {
	// File is the kernel's descriptor of the file being executed. It is
	// valid until Respond returns; read facts from it, never re-open by path.
	File() *os.File
	// PID is the task (thread) doing the exec.
	PID() int32
	// Deadline is when the kernel needs the answer; zero means no deadline.
	Deadline() time.Time
	// Respond answers the kernel. It must be called exactly once; it may be
	// called from any goroutine. cache says the answer may be cached by the
	// kernel (ignored by sources without a kernel cache).
	Respond(allow, cache bool) error
}

// Source delivers held executions.
type Source interface {
	// Run calls handle for every exec until ctx is done or Close is called.
	// handle must arrange for exactly one Respond per Exec. When Run
	// returns, executions not yet answered are allowed.
	Run(ctx context.Context, handle func(Exec)) error
	// Close stops Run.
	Close() error
	// Describe names the source and what it watches, for status.
	Describe() (name string, marks []string)
}

// cacheFlusher is a Source whose kernel can remember answers (Respond with
// cache); FlushCache forgets them all, after a policy change.
type cacheFlusher interface {
	FlushCache() error
}
