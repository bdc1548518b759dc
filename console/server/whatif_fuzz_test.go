package server

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/store"
)

// FuzzReplay: what machines send (an event's detail, a program's facts, a
// parent's first record) is untrusted; the replay of any of it answers,
// never panics, and counts each exec once.
func FuzzReplay(f *testing.F) {
	f.Add(`{"args":["--rm"],"groups":["staff"],"parent":"/bin/zsh"}`, `{"type":"binary","publisher":"Evil Corp","protection":"protected"}`, `{"parents":["/sbin/launchd"]}`)
	f.Add(`{"parents":["/a","/a","/a"]}`, `{"type":7}`, `[]`)
	f.Add(`null`, ``, `{"parents":null}`)
	eng, diags := lint("fuzz", `id: fuzz
revision: 1
default: allow
groups:
  - name: evil
    definitions: [{type: binary, publisher: {exact: Evil Corp}, protected: true}]
  - name: shells
    definitions: [{path: {exact: /bin/zsh}}]
  - name: under-shell
    definitions: [{type: [binary, script], parent: {group: shells, any_ancestor: true}, args: {contains: --rm}}]
rules:
  - {group: evil, action: deny}
  - {group: under-shell, action: audit, user_groups: [staff]}
`)
	if eng == nil {
		f.Fatalf("the draft does not lint: %v", diags)
	}
	f.Fuzz(func(t *testing.T, detail, facts, parentDetail string) {
		rp := &replayer{eng: eng, records: map[string]store.Program{
			recordKey("m1", "/bin/zsh"): {MachineID: "m1", SHA256: "ab", Path: "/bin/zsh", Facts: facts, First: store.Event{Detail: parentDetail}},
		}}
		e := store.Event{MachineID: "m1", Kind: "exec", Action: "allow", Path: "/opt/x", SHA256: "cd", Detail: detail}
		res := rp.replay([]store.ExecWithFacts{{Event: e, Facts: facts}},
			[]store.Program{{MachineID: "m1", SHA256: "ef", Path: "/opt/y", Facts: facts, First: store.Event{Action: "allow", Detail: detail}}},
			[]store.Machine{{ID: "m1", Hostname: "mac"}}, time.Now())
		n := 0
		for _, c := range res.Changed {
			n += c.Events + c.Unrecorded
		}
		if res.Events != 1 || res.Unrecorded != 1 || n > 2 {
			t.Fatalf("replayed %d + %d, changes counting %d", res.Events, res.Unrecorded, n)
		}
	})
}
