// Package opendirectory puts users into the macOS local "admin" group and
// takes them out, through the OpenDirectory framework (Directory
// Services), for timed admin sessions. It starts no program: the daemon
// never runs dseditgroup or dscl.
//
// The membership decisions are here, platform-neutral and tested on
// Linux over a fake of the three record calls: a user who is a member
// already is not added (and so is never taken out by a session's end),
// and one who is not a member is not removed. The calls themselves are
// admin_darwin.go (purego and its Objective-C runtime, no cgo).
//
// NOT RUN ON A MAC. admin_darwin.go builds and vets for darwin/arm64 and
// darwin/amd64 on Linux; it has never been run. What must be checked on
// a Mac: that root may change the local node's admin group without
// setting credentials, that the change is seen at once by sudo and the
// authorization dialogs (membership is cached by opendirectoryd), and
// that users of a network directory (not in the local node) are refused
// with a clear error.
//
// Elsewhere New returns an error wrapping errors.ErrUnsupported.
package opendirectory

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// adminGroup is the local group whose members are administrators.
const adminGroup = "admin"

// maxName bounds a user name, in bytes.
const maxName = 255

// errBadName is a user name refused before any directory call.
var errBadName = errors.New("not a user name")

// records is the admin group's record as the membership logic uses it:
// on macOS the OpenDirectory calls, in tests a fake. user is a valid
// name (checked before).
type records interface {
	isMember(user string) (bool, error)
	addMember(user string) error
	removeMember(user string) error
}

// Group is the local admin group. It implements enforcer.AdminGroup.
type Group struct {
	r records
	// mu makes each check and change one step for this process; another
	// program changing the group at the same moment can still interleave.
	mu sync.Mutex
}

// Add makes user a member of the admin group. added is false, and
// nothing is changed, when user is a member already: whoever made them
// one keeps them one.
func (g *Group) Add(user string) (added bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	member, err := g.memberLocked(user)
	if err != nil || member {
		return false, err
	}
	if err := g.r.addMember(user); err != nil {
		return false, fmt.Errorf("add %s to the %s group: %w", user, adminGroup, err)
	}
	return true, nil
}

// Remove takes user out of the admin group; a user who is not a member
// is left alone, and that is no error.
func (g *Group) Remove(user string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	member, err := g.memberLocked(user)
	if err != nil || !member {
		return err
	}
	if err := g.r.removeMember(user); err != nil {
		return fmt.Errorf("remove %s from the %s group: %w", user, adminGroup, err)
	}
	return nil
}

// IsMember reports whether user is a member of the admin group.
func (g *Group) IsMember(user string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.memberLocked(user)
}

// memberLocked checks user's name, then asks whether it is a member
// (g.mu held).
func (g *Group) memberLocked(user string) (bool, error) {
	if err := validName(user); err != nil {
		return false, err
	}
	member, err := g.r.isMember(user)
	if err != nil {
		return false, fmt.Errorf("is %s in the %s group: %w", user, adminGroup, err)
	}
	return member, nil
}

// validName refuses what cannot be a short user name before it reaches
// the directory: the name selects the record that is changed, and a
// path separator, a record-name separator or blank would name something
// else, or nothing the caller meant. UTF-8 because the framework takes
// an NSString made from it.
func validName(user string) error {
	bad := func(why string) error { return fmt.Errorf("user name %q: %w: %s", user, errBadName, why) }
	switch {
	case user == "":
		return bad("empty")
	case len(user) > maxName:
		return bad(fmt.Sprintf("%d bytes, over %d", len(user), maxName))
	case !utf8.ValidString(user):
		return bad("not UTF-8")
	case strings.ContainsRune(user, 0):
		return bad("it holds a NUL")
	case strings.ContainsAny(user, "/:"):
		return bad("it holds '/' or ':'")
	case strings.ContainsFunc(user, unicode.IsSpace):
		return bad("it holds blank space")
	}
	return nil
}
