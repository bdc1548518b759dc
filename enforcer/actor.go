package enforcer

import (
	"fmt"
	"path/filepath"
	"slices"
)

// Peer is what the kernel says about the process at the other end of a
// local API connection. The API server fills it from the socket (Linux:
// SO_PEERCRED, SO_PEERGROUPS, SO_PEERPIDFD; macOS: LOCAL_PEERCRED,
// LOCAL_PEERPID), never from anything the peer sends.
type Peer struct {
	// UID is the peer's effective uid when it connected.
	UID uint32
	// RealUID is its real uid: a set-uid program (sudo) runs with uid 0
	// for the real user who started it. Equal to UID when unknown.
	RealUID uint32
	// GIDs are the peer's groups (effective gid first, then supplementary
	// groups) when it connected; nil when unknown.
	GIDs []uint32
	// PID is the peer's process id.
	PID int32
	// PIDVersion tells this process from others that had its pid (macOS,
	// from the audit token); 0 elsewhere.
	PIDVersion uint32
	// Exe is the peer's executable as the kernel names it; "" when
	// unknown. On Linux it is read through a pidfd the socket handed
	// over, checked to still be the connecting process after the read.
	Exe string
	// TeamID and SigningID are the peer's code-signing identity as the
	// kernel validated it (macOS); "" elsewhere.
	TeamID, SigningID string
}

// PeerCode names the executable and kernel-validated code signature of the
// process pid at pidversion, as the event source knows it (macOS: the
// Endpoint Security process table); ok is false when it does not know that
// very process.
type PeerCode func(pid int32, pidversion uint32) (exe, teamID, signingID string, ok bool)

// ActorKind is the kind of caller an Actor is. Only Identify makes them.
type ActorKind uint8

// The kinds of actor. Values start at one; zero is no actor.
const (
	// ActorUser is a local user (uid other than 0): sees and answers their
	// own requests.
	ActorUser ActorKind = iota + 1
	// ActorRoot is uid 0: sees everything, decides requests, reloads.
	ActorRoot
	// ActorConsoleSync is the unprivileged service that carries requests,
	// decisions and audit events between this machine and the console
	// (the configured sync_user): reads everything, decides requests.
	ActorConsoleSync
	// ActorSudo is the sudo front-end: a root peer whose executable is
	// sudo (sudo_paths), acting for the real uid of the user who ran it.
	ActorSudo
	// ActorAgent is the user's menu-bar agent, recognised by its code
	// signature (macOS: agent_team_id and agent_signing_id). On Linux
	// nothing tells the agent from the user's other processes, so it is an
	// ActorUser there, with the same rights.
	ActorAgent
	// ActorPolkit is polkitd (the configured polkit_user) through the
	// helper its rules spawn: asks for decisions on authorization
	// requests, for the subjects polkit names.
	ActorPolkit
	actorKinds = ActorPolkit
)

var actorKindNames = [...]string{"", "user", "root", "console sync", "sudo", "agent", "polkit"}

func (k ActorKind) String() string {
	if int(k) < len(actorKindNames) && k != 0 {
		return actorKindNames[k]
	}
	return fmt.Sprintf("ActorKind(%d)", k)
}

// Actor is who is asking the engine: made by Identify from a Peer.
type Actor struct {
	Kind ActorKind
	// UID is the user the actor acts for: the peer's uid, or for sudo the
	// real uid of the user who ran it.
	UID uint32
	// GIDs are that user's groups.
	GIDs []uint32
	// User is the name of UID.
	User string
	// Peer is what the kernel said.
	Peer Peer
}

func (a Actor) String() string {
	return fmt.Sprintf("%s %s (uid %d, pid %d)", a.Kind, a.User, a.UID, a.Peer.PID)
}

// Identify decides what kind of actor a peer is. It is the only place
// that does: the API server hands over the kernel's Peer and uses the
// Actor it gets back.
func (e *Engine) Identify(p Peer) Actor {
	if p.PIDVersion != 0 && p.Exe == "" && e.peerCode != nil {
		// The socket gave the audit token: what the peer runs and its
		// signature come from the kernel's exec events.
		p.Exe, p.TeamID, p.SigningID, _ = e.peerCode(p.PID, p.PIDVersion)
	}
	a := Actor{Kind: ActorUser, UID: p.UID, GIDs: p.GIDs, Peer: p}
	switch {
	case p.UID == 0 && p.RealUID != 0 && e.isSudo(p.Exe):
		// sudo runs set-uid root for its real user; it speaks for that
		// user only, and only sudo itself may (any other set-uid program
		// is plain root: it could do all of this anyway). Set-uid changes
		// the uid alone: the peer's groups are still the user's.
		a.Kind, a.UID = ActorSudo, p.RealUID
	case p.UID == 0:
		a.Kind = ActorRoot
	case e.cfg.SyncUser != "" && e.users.userName(p.UID) == e.cfg.SyncUser:
		a.Kind = ActorConsoleSync
	case e.cfg.PolkitUser != "" && e.users.userName(p.UID) == e.cfg.PolkitUser:
		a.Kind = ActorPolkit
	case e.cfg.AgentTeamID != "" && p.TeamID == e.cfg.AgentTeamID && p.SigningID == e.cfg.AgentSigningID:
		a.Kind = ActorAgent
	}
	if a.GIDs == nil {
		a.GIDs = UserGroupIDs(a.UID)
	}
	a.User = e.users.userName(a.UID)
	return a
}

func (e *Engine) isSudo(exe string) bool {
	return exe != "" && filepath.IsAbs(exe) && slices.Contains(e.cfg.SudoPaths, exe)
}
