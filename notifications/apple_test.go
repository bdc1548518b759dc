package notifications

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCategoryID(t *testing.T) {
	a := []Action{{"approve", "Approve"}, {"deny", "Deny"}}
	if categoryID(a) != categoryID([]Action{{"approve", "Approve"}, {"deny", "Deny"}}) {
		t.Error("same buttons, different category")
	}
	for _, b := range [][]Action{
		{{"approve", "Approve"}},
		{{"deny", "Deny"}, {"approve", "Approve"}},
		{{"approve", "Allow"}, {"deny", "Deny"}},
		{{"approveD", "eny"}, {"deny", "Deny"}},
		nil,
	} {
		if categoryID(a) == categoryID(b) {
			t.Errorf("%v and %v share a category", a, b)
		}
	}
	if diff := cmp.Diff([]Action{{"deny", "Deny"}}, appleButtons([]Action{{"default", "Open"}, {"deny", "Deny"}})); diff != "" {
		t.Errorf("appleButtons (-want +got):\n%s", diff)
	}
}

func TestAppleResponse(t *testing.T) {
	info := map[string]string{userInfoID: "request-42", userInfoPayload: "p"}
	tests := []struct {
		name, action, request string
		info                  map[string]string
		want                  Response
	}{
		{"click", appleDefaultAction, "request-42", info, Response{ID: "request-42", Kind: Clicked, ActionKey: "default", Payload: "p"}},
		{"dismiss", appleDismissAction, "request-42", info, Response{ID: "request-42", Kind: Dismissed, Payload: "p"}},
		{"button", "approve", "request-42", info, Response{ID: "request-42", Kind: ActionInvoked, ActionKey: "approve", Payload: "p"}},
		{"no userInfo", "deny", "request-7", nil, Response{ID: "request-7", Kind: ActionInvoked, ActionKey: "deny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, appleResponse(tt.action, tt.request, tt.info)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
