package fake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/notifications"
	"github.com/gatehouse/gatehouse/notifications/fake"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	f := fake.New()
	n := notifications.Notification{ID: "request-1", Title: "t", Actions: []notifications.Action{{Key: "approve", Label: "Approve"}}, Payload: "p1"}
	if err := f.Post(ctx, n); err != nil {
		t.Fatal(err)
	}
	n2 := n
	n2.Payload = "p2"
	if err := f.Post(ctx, n2); err != nil {
		t.Fatal(err)
	}
	if got := f.Shown(); len(got) != 1 || got[0].Payload != "p2" {
		t.Fatalf("Shown after replace = %+v", got)
	}
	if err := f.Post(ctx, notifications.Notification{}); err == nil {
		t.Error("Post without ID succeeded")
	}
	if err := f.Respond("request-1", notifications.ActionInvoked, "nope"); err == nil {
		t.Error("Respond with an unknown action succeeded")
	}
	if err := f.Respond("request-1", notifications.ActionInvoked, "approve"); err != nil {
		t.Fatal(err)
	}
	want := notifications.Response{ID: "request-1", Kind: notifications.ActionInvoked, ActionKey: "approve", Payload: "p2"}
	if diff := cmp.Diff(want, <-f.Responses()); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if _, ok := f.Get("request-1"); ok {
		t.Error("answered notification still shown")
	}
	if err := f.Respond("request-1", notifications.Dismissed, ""); err == nil {
		t.Error("Respond to a notification no longer shown succeeded")
	}
	boom := errors.New("boom")
	f.FailPosts(boom)
	if err := f.Post(ctx, n); !errors.Is(err, boom) {
		t.Errorf("Post = %v, want boom", err)
	}
	f.Close()
	if _, ok := <-f.Responses(); ok {
		t.Error("Responses open after Close")
	}
	if err := f.Post(ctx, n); !errors.Is(err, notifications.ErrClosed) {
		t.Errorf("Post after Close = %v", err)
	}
}
