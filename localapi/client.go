package localapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/request"
)

// Client talks to gatehoused over its Unix socket.
type Client struct {
	Socket string
	// Program names the caller and its version in each request's
	// User-Agent (e.g. "gatehouse-agent/1.2.0"); "" sends Go's default.
	Program string
	http    *http.Client
	long    *http.Client // no overall timeout: for Changes, bounded by its context
}

// NewClient returns a client for the socket at path ("" = DefaultSocket).
func NewClient(path string) *Client {
	if path == "" {
		path = DefaultSocket
	}
	c := &Client{Socket: path}
	c.http = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
			MaxIdleConns:    2,
			IdleConnTimeout: 30 * time.Second,
		},
	}
	c.long = &http.Client{Transport: c.http.Transport}
	return c
}

// APIError is a non-2xx answer from the daemon.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// AccessDeniedError is returned when the daemon refuses the caller.
type AccessDeniedError struct{ APIError }

// IsAccessDenied reports whether err is an AccessDeniedError.
func IsAccessDenied(err error) bool {
	var ad *AccessDeniedError
	return errors.As(err, &ad)
}

// NotRunningError is returned when nothing listens on the socket.
type NotRunningError struct {
	Socket string
	Err    error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("gatehoused is not running (no answer on %s: %v); %s", e.Socket, e.Err, startHint)
}

func (e *NotRunningError) Unwrap() error { return e.Err }

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.doWith(c.http, ctx, method, path, query, in, out)
}

func (c *Client) doWith(hc *http.Client, ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := "http://gatehoused/" + Version + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Program != "" {
		req.Header.Set("User-Agent", c.Program)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return c.talkError(err)
	}
	return decodeAnswer(resp, out)
}

// talkError describes a failure to reach the daemon.
func (c *Client) talkError(err error) error {
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return &NotRunningError{Socket: c.Socket, Err: err}
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("cannot open %s: permission denied", c.Socket)
	}
	return fmt.Errorf("talk to gatehoused: %w", err)
}

// decodeAnswer reads resp into out, or returns the daemon's error.
func decodeAnswer(resp *http.Response, out any) error {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer from gatehoused: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		msg := string(bytes.TrimSpace(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		ae := APIError{Status: resp.StatusCode, Message: msg}
		if resp.StatusCode == http.StatusForbidden {
			return &AccessDeniedError{ae}
		}
		return &ae
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer from gatehoused: %w", err)
	}
	return nil
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, "GET", "/status", nil, nil, &s)
	return s, err
}

// Events lists audit events.
func (c *Client) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	q := url.Values{}
	if f.AfterID > 0 {
		q.Set("after", strconv.FormatInt(f.AfterID, 10))
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if f.UID != nil {
		q.Set("uid", strconv.FormatUint(uint64(*f.UID), 10))
	}
	if f.Kind != "" {
		q.Set("kind", f.Kind)
	}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	if f.PathContains != "" {
		q.Set("path", f.PathContains)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out []Event
	err := c.do(ctx, "GET", "/events", q, nil, &out)
	return out, err
}

// Requests lists requests; states empty means every state.
func (c *Client) Requests(ctx context.Context, states ...request.State) ([]Request, error) {
	q := url.Values{}
	for _, s := range states {
		q.Add("state", string(s))
	}
	var out []Request
	err := c.do(ctx, "GET", "/requests", q, nil, &out)
	return out, err
}

// Request returns one request.
func (c *Client) Request(ctx context.Context, id int64) (Request, error) {
	var out Request
	err := c.do(ctx, "GET", "/requests/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out, err
}

// Answer answers or submits a request as the calling user.
func (c *Client) Answer(ctx context.Context, id int64, a Answer) (AnswerResult, error) {
	var out AnswerResult
	err := c.do(ctx, "POST", "/requests/"+strconv.FormatInt(id, 10)+"/answer", nil, a, &out)
	return out, err
}

// Approve approves a submitted request (root only).
func (c *Client) Approve(ctx context.Context, id int64, note string) (AnswerResult, error) {
	var out AnswerResult
	err := c.do(ctx, "POST", "/requests/"+strconv.FormatInt(id, 10)+"/approve", nil, Decide{Note: note}, &out)
	return out, err
}

// Deny denies a submitted request (root only).
func (c *Client) Deny(ctx context.Context, id int64, note string) (AnswerResult, error) {
	var out AnswerResult
	err := c.do(ctx, "POST", "/requests/"+strconv.FormatInt(id, 10)+"/deny", nil, Decide{Note: note}, &out)
	return out, err
}

// ConsoleDecide hands gatehoused a decision the console signed (the sync
// service).
func (c *Client) ConsoleDecide(ctx context.Context, id int64, d ConsoleDecision) (AnswerResult, error) {
	var out AnswerResult
	err := c.do(ctx, "POST", "/requests/"+strconv.FormatInt(id, 10)+"/console-decision", nil, d, &out)
	return out, err
}

// ConsoleReached tells gatehoused that the sync service reached the console
// just now and which requests are on it.
func (c *Client) ConsoleReached(ctx context.Context, uploaded []int64) error {
	return c.do(ctx, "POST", "/console/reached", nil, ConsoleReached{Uploaded: uploaded}, nil)
}

// ConsoleKeys hands gatehoused the console's new signing keys (the sync
// service, during a rotation).
func (c *Client) ConsoleKeys(ctx context.Context, k ConsoleKeys) error {
	return c.do(ctx, "POST", "/console/signing-keys", nil, k, nil)
}

// ApplyConsolePolicy hands gatehoused a policy the console signed (the
// sync service); the status after it is applied.
func (c *Client) ApplyConsolePolicy(ctx context.Context, p ConsolePolicy) (Status, error) {
	var out Status
	err := c.do(ctx, "POST", "/policy/console", nil, p, &out)
	return out, err
}

// Grants lists active grants (the caller's own unless root).
func (c *Client) Grants(ctx context.Context) ([]Grant, error) {
	var out []Grant
	err := c.do(ctx, "GET", "/grants", nil, nil, &out)
	return out, err
}

// CheckWait is how long a client waits for a check: the daemon stops one
// after 30 seconds.
const CheckWait = 45 * time.Second

// Check asks the daemon what it would decide for a program. files are the
// program's and its parents' open files (see Check), sent over the socket;
// ch.Files is set from them. Without files, ch names them by path, which
// only root may do.
func (c *Client) Check(ctx context.Context, ch Check, files []*os.File) (CheckResult, error) {
	var out CheckResult
	if len(files) == 0 {
		err := c.do(ctx, "POST", "/check", nil, ch, &out)
		return out, err
	}
	ch.Files = len(files)
	err := c.withFiles(ctx, "/check", ch, files, &out)
	return out, err
}

// Sudo asks to run a command as root: files holds the command's file as
// the caller opened it, s its arguments and reason.
func (c *Client) Sudo(ctx context.Context, s Sudo, files []*os.File) (SudoResult, error) {
	var out SudoResult
	s.Files = len(files)
	err := c.withFiles(ctx, "/sudo", s, files, &out)
	return out, err
}

// AdminSession asks for timed admin rights.
func (c *Client) AdminSession(ctx context.Context, q AdminSession) (AdminSessionResult, error) {
	var out AdminSessionResult
	err := c.do(ctx, "POST", "/admin-session", nil, q, &out)
	return out, err
}

// EndAdminSession ends the caller's admin session now.
func (c *Client) EndAdminSession(ctx context.Context) (AdminSessionResult, error) {
	var out AdminSessionResult
	err := c.do(ctx, "DELETE", "/admin-session", nil, nil, &out)
	return out, err
}

// Authorize asks for a decision on an authorization request (the polkit
// helper; root).
func (c *Client) Authorize(ctx context.Context, q Authorize) (AuthorizeResult, error) {
	var out AuthorizeResult
	err := c.do(ctx, "POST", "/authorize", nil, q, &out)
	return out, err
}

// withFiles POSTs in to path on a connection of its own, with files'
// descriptors attached to the request's first byte, and reads the answer
// into out.
func (c *Client) withFiles(ctx context.Context, path string, in any, files []*os.File, out any) error {
	ctx, cancel := context.WithTimeout(ctx, CheckWait)
	defer cancel()
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://gatehoused/"+Version+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Close = true
	var msg bytes.Buffer
	if err := req.Write(&msg); err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return c.talkError(err)
	}
	defer nc.Close()
	uc := nc.(*net.UnixConn)
	if dl, ok := ctx.Deadline(); ok {
		uc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { uc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	n, _, err := uc.WriteMsgUnix(msg.Bytes(), syscall.UnixRights(fds...), nil)
	for _, f := range files {
		runtime.KeepAlive(f)
	}
	if err == nil && n < msg.Len() {
		_, err = uc.Write(msg.Bytes()[n:])
	}
	if err != nil {
		return c.talkError(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(uc), req)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return c.talkError(err)
	}
	return decodeAnswer(resp, out)
}

// Reload makes the daemon reload its policy (root only).
func (c *Client) Reload(ctx context.Context) (Status, error) {
	var out Status
	err := c.do(ctx, "POST", "/policy/reload", nil, struct{}{}, &out)
	return out, err
}

// Changes waits up to wait (at most MaxChangesWait) for the requests to
// change after seq, the Seq of the previous answer (0 at first).
func (c *Client) Changes(ctx context.Context, after uint64, wait time.Duration) (Changes, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {wait.String()}}
	var out Changes
	err := c.doWith(c.long, ctx, "GET", "/changes", q, nil, &out)
	return out, err
}

// Seen records that the user was told about request id's current state.
func (c *Client) Seen(ctx context.Context, id int64) (Request, error) {
	var out Request
	err := c.do(ctx, "POST", "/requests/"+strconv.FormatInt(id, 10)+"/seen", nil, struct{}{}, &out)
	return out, err
}

// OfflineRespond sends the help desk's response code for an
// approval_offline request as the calling user.
func (c *Client) OfflineRespond(ctx context.Context, id int64, code string) (AnswerResult, error) {
	var out AnswerResult
	err := c.do(ctx, "POST", "/requests/"+strconv.FormatInt(id, 10)+"/offline", nil, OfflineResponse{Code: code}, &out)
	return out, err
}
