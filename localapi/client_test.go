package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/request"
)

// The client's side of the contract against a stand-in server on a real
// Unix socket: paths, query parameters, bodies and the mapping of error
// answers to typed errors. (The round trip with the real daemon's server is
// tested in enforcer/apiserver.)
func serve(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return NewClient(sock)
}

func TestClientSendsWhatTheContractSays(t *testing.T) {
	var got []string
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		line := r.Method + " " + r.URL.RequestURI()
		if r.Body != nil && r.ContentLength != 0 {
			var m map[string]any
			json.NewDecoder(r.Body).Decode(&m)
			b, _ := json.Marshal(m)
			line += " " + string(b)
		}
		got = append(got, line)
		switch r.URL.Path {
		case "/v1/requests":
			json.NewEncoder(w).Encode([]Request{{ID: 7, Kind: request.Kind("from_the_future"), State: request.Pending}})
		case "/v1/changes":
			json.NewEncoder(w).Encode(Changes{Seq: 3, Boot: "b"})
		default:
			w.Write([]byte("{}"))
		}
	})
	ctx := context.Background()
	uid := uint32(1000)
	c.Events(ctx, EventFilter{AfterID: 5, UID: &uid, Kind: "exec", Limit: 10})
	rs, err := c.Requests(ctx, request.Pending, request.Submitted)
	if err != nil || len(rs) != 1 || rs[0].Kind != "from_the_future" {
		t.Errorf("a kind this client does not know is kept: %+v, %v", rs, err)
	}
	c.Answer(ctx, 7, Answer{Reason: "why"})
	c.Approve(ctx, 7, "ok")
	c.OfflineRespond(ctx, 7, "ABCD")
	ch, err := c.Changes(ctx, 2, time.Second)
	if err != nil || ch.Seq != 3 {
		t.Errorf("changes = %+v, %v", ch, err)
	}
	want := []string{
		"GET /v1/events?after=5&kind=exec&limit=10&uid=1000",
		"GET /v1/requests?state=pending&state=submitted",
		`POST /v1/requests/7/answer {"reason":"why"}`,
		`POST /v1/requests/7/approve {"note":"ok"}`,
		`POST /v1/requests/7/offline {"code":"ABCD"}`,
		"GET /v1/changes?after=2&wait=1s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestClientErrors(t *testing.T) {
	cases := []struct {
		status int
		body   string
		check  func(error) bool
		msg    string
	}{
		{403, `{"error":"you may not"}`, IsAccessDenied, "you may not"},
		{404, `{"error":"request 9 not found"}`, func(err error) bool { var ae *APIError; return errors.As(err, &ae) && ae.Status == 404 }, "request 9 not found"},
		{500, `not json at all`, func(err error) bool { var ae *APIError; return errors.As(err, &ae) && ae.Status == 500 }, "not json at all"},
	}
	for _, tc := range cases {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			w.Write([]byte(tc.body))
		})
		_, err := c.Status(context.Background())
		if err == nil || !tc.check(err) || err.Error() != tc.msg {
			t.Errorf("status %d %q: error %T %v", tc.status, tc.body, err, err)
		}
	}
	c := NewClient(filepath.Join(t.TempDir(), "absent"))
	_, err := c.Status(context.Background())
	var nr *NotRunningError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), startHint) {
		t.Errorf("no daemon: %v", err)
	}
}
