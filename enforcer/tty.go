package enforcer

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/request"
)

// ttyMessage is one short note for the terminal of a blocked program.
type ttyMessage struct {
	tty  string
	text string
}

// sayOnTTY queues a terminal message; it never blocks.
func (e *Engine) sayOnTTY(m ttyMessage) {
	select {
	case e.tty <- m:
	default:
	}
}

// writeTTY writes queued messages. A terminal can block (flow control, a
// full pty nobody reads), so each write has a deadline and only this
// goroutine ever waits on one.
func (e *Engine) writeTTY(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-e.tty:
			if !strings.HasPrefix(m.tty, "/dev/") {
				continue
			}
			f, err := os.OpenFile(m.tty, os.O_WRONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
			if err != nil {
				continue
			}
			f.SetWriteDeadline(time.Now().Add(time.Second))
			f.WriteString(m.text)
			f.Close()
		}
	}
}

// sanitize keeps a policy-supplied line from carrying terminal escapes.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

func messageLines(msg policy.RenderedMessage) string {
	var b strings.Builder
	if msg.Title != "" {
		fmt.Fprintf(&b, "gatehouse: %s\n", sanitize(msg.Title))
	}
	if msg.Body != "" {
		for _, l := range strings.Split(sanitize(msg.Body), "\n") {
			fmt.Fprintf(&b, "gatehouse: %s\n", l)
		}
	}
	if msg.URL != "" {
		fmt.Fprintf(&b, "gatehouse: more: %s\n", sanitize(msg.URL))
	}
	return b.String()
}

// denyText is the terminal message for a plain deny.
func denyText(path string, d policy.Decision, msg policy.RenderedMessage) string {
	return fmt.Sprintf("\r\ngatehouse: %s was blocked by policy %s rule %d (%s).\n", sanitize(path), sanitize(d.PolicyID), d.Rule, d.Action) +
		messageLines(msg)
}

// requestText is the terminal message for a block the user can answer.
func requestText(p pendingRequest, id int64) string {
	var how string
	switch p.kind {
	case request.Warning:
		how = fmt.Sprintf("to run it anyway: gatehouse request %d --continue", id)
	case request.Justification:
		how = fmt.Sprintf("to run it, give a reason: gatehouse request %d --reason \"...\"", id)
	case request.ApprovalOffline:
		how = fmt.Sprintf("to ask for approval: gatehouse request %d --reason \"...\"", id)
		if p.requestCode != "" {
			how += fmt.Sprintf("\ngatehouse: offline: tell the help desk computer %s, request code %s, policy revision %d; then: gatehouse request %d --code RESPONSE-CODE",
				p.machine, p.requestCode, p.decision.Revision, id)
		}
	default:
		how = fmt.Sprintf("to ask for approval: gatehouse request %d --reason \"...\"", id)
	}
	what := sanitize(p.path) + " was blocked"
	if p.right != "" {
		what = sanitize(p.path) + " was refused " + sanitize(p.right)
	}
	return fmt.Sprintf("\r\ngatehouse: %s (%s, request %d).\n", what, p.kind, id) +
		messageLines(p.msg) + "gatehouse: " + how + "\n"
}
