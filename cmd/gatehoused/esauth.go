package main

import (
	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

// The Endpoint Security adapter's translation of authd's authorization
// petitions and judgements into the engine's AuthorizationSeen, which is
// recorded for the audit and for explain. They are reports after the
// fact: the authorization plugin is what asks gatehoused before a right is
// granted. Platform-neutral, so it is tested on Linux; source_darwin.go
// subscribes and dispatches.

// esAuthEvents are subscribed to apart from the session events, in a call
// of their own: they exist from macOS 14 on, and a macOS 13 that refuses
// them must keep the session events.
var esAuthEvents = []endpointsecurity.EventType{
	endpointsecurity.NotifyAuthorizationPetition,
	endpointsecurity.NotifyAuthorizationJudgement,
}

// esAuthorizationSeen is the authorization request m reports; ok is false
// for a message that is not a decoded petition or judgement, and for one
// that names neither the instigator nor the petitioner (the macOS 15 SDK
// lets both be NULL, giving audit tokens this decoder does not read):
// there is no one to attribute it to. The process that asked is the
// instigator (authd's XPC caller), else the petitioner; its real uid, as
// for the other events.
func esAuthorizationSeen(m *endpointsecurity.Message) (seen enforcer.AuthorizationSeen, ok bool) {
	var instigator, petitioner *endpointsecurity.Process
	switch {
	case m.Event == endpointsecurity.NotifyAuthorizationPetition && m.Petition != nil:
		p := m.Petition
		instigator, petitioner = p.Instigator, p.Petitioner
		seen.Rights = p.Rights
	case m.Event == endpointsecurity.NotifyAuthorizationJudgement && m.Judgement != nil:
		j := m.Judgement
		instigator, petitioner = j.Instigator, j.Petitioner
		seen.Judged, seen.ReturnCode = true, j.ReturnCode
		for _, r := range j.Results {
			seen.Rights = append(seen.Rights, r.Right)
			if r.Granted {
				seen.Granted = append(seen.Granted, r.Right)
			}
		}
	default:
		return enforcer.AuthorizationSeen{}, false
	}
	asker := instigator
	if asker == nil {
		asker = petitioner
	}
	if asker == nil {
		return enforcer.AuthorizationSeen{}, false
	}
	seen.PID, seen.UID, seen.Program = asker.Token.PID, asker.Token.RUID, asker.Executable.Path
	if petitioner != nil {
		seen.Petitioner = petitioner.Executable.Path
	}
	return seen, true
}
