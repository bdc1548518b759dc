//go:build darwin

package opendirectory

// The admin group through the OpenDirectory framework, by purego's
// Objective-C runtime, without cgo. Not yet run on a Mac (see the
// package doc for what must be checked there).
//
// The calls, as ODSession.h, ODNode.h and ODRecord.h declare them:
//   +[ODSession defaultSession]
//   +[ODNode nodeWithSession:type:error:]           type kODNodeTypeLocalNodes
//   -[ODNode recordWithRecordType:name:attributes:error:]
//   -[ODRecord isMemberRecord:error:]               NO also when not a group
//   -[ODRecord addMemberRecord:error:]
//   -[ODRecord removeMemberRecord:error:]
//   -[ODRecord synchronizeAndReturnError:]          commits pending changes
// Each returns nil or NO with an autoreleased NSError in its last
// argument; every call runs in an autorelease pool of its own.

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
)

// kODNodeTypeLocalNodes (CFOpenDirectoryConstants.h, an enum: not a
// symbol to look up): the local directory, /Local/Default, where the
// admin group lives.
const nodeTypeLocalNodes uint32 = 0x2200

// framework is what load found: the record types, read from the
// framework's exported constants, and the selectors.
type framework struct {
	recordTypeUsers, recordTypeGroups objc.ID

	defaultSession, nodeWithSession, recordWithType objc.SEL
	isMember, addMember, removeMember, synchronize  objc.SEL
	localizedDescription, stringWithUTF8, utf8      objc.SEL
	poolNew, poolDrain                              objc.SEL
}

var (
	loadOnce sync.Once
	loaded   *framework
	loadErr  error
)

func load() (*framework, error) {
	loadOnce.Do(func() {
		for _, f := range []string{
			"/System/Library/Frameworks/Foundation.framework/Foundation",
			"/System/Library/Frameworks/OpenDirectory.framework/OpenDirectory",
		} {
			if _, err := purego.Dlopen(f, purego.RTLD_NOW|purego.RTLD_GLOBAL); err != nil {
				loadErr = fmt.Errorf("load %s: %w", f, err)
				return
			}
		}
		for _, c := range []string{"ODSession", "ODNode", "NSString", "NSAutoreleasePool"} {
			if objc.GetClass(c) == 0 {
				loadErr = fmt.Errorf("the Objective-C class %s is not loaded", c)
				return
			}
		}
		s := objc.RegisterName
		fw := &framework{
			defaultSession:       s("defaultSession"),
			nodeWithSession:      s("nodeWithSession:type:error:"),
			recordWithType:       s("recordWithRecordType:name:attributes:error:"),
			isMember:             s("isMemberRecord:error:"),
			addMember:            s("addMemberRecord:error:"),
			removeMember:         s("removeMemberRecord:error:"),
			synchronize:          s("synchronizeAndReturnError:"),
			localizedDescription: s("localizedDescription"),
			stringWithUTF8:       s("stringWithUTF8String:"),
			utf8:                 s("UTF8String"),
			poolNew:              s("new"),
			poolDrain:            s("drain"),
		}
		var err error
		if fw.recordTypeUsers, err = fw.recordType("kODRecordTypeUsers", "dsRecTypeStandard:Users"); err != nil {
			loadErr = err
			return
		}
		if fw.recordTypeGroups, err = fw.recordType("kODRecordTypeGroups", "dsRecTypeStandard:Groups"); err != nil {
			loadErr = err
			return
		}
		loaded = fw
	})
	return loaded, loadErr
}

// recordType reads the framework's exported ODRecordType constant name
// (a CFStringRef variable, toll-free bridged to NSString) rather than
// spelling it here. want is the value the headers document: a different
// one means the symbol was misread, and nothing is changed with it.
func (fw *framework) recordType(name, want string) (objc.ID, error) {
	addr, err := purego.Dlsym(purego.RTLD_DEFAULT, name)
	if err != nil {
		return 0, fmt.Errorf("the OpenDirectory constant %s: %w", name, err)
	}
	// The symbol is the address of the variable; the variable holds the
	// string. (Through &addr, so that vet sees no uintptr made a pointer.)
	id := **(**objc.ID)(unsafe.Pointer(&addr))
	var got string
	withPool(fw, func() { got = fw.goString(id) })
	if got != want {
		return 0, fmt.Errorf("the OpenDirectory constant %s is %q, not the documented %q", name, got, want)
	}
	return id, nil
}

// New opens the local admin group. It fails where the OpenDirectory
// framework cannot be loaded.
func New() (*Group, error) {
	fw, err := load()
	if err != nil {
		return nil, fmt.Errorf("the admin group through Directory Services: %w", err)
	}
	return &Group{r: odRecords{fw}}, nil
}

// odRecords is records over the framework. Each call finds the node and
// both records afresh: nothing cached here can go stale, and the calls
// are few (two per admin session).
type odRecords struct{ fw *framework }

func (o odRecords) isMember(user string) (member bool, err error) {
	err = o.with(user, func(group, rec objc.ID) error {
		var nserr objc.ID
		member = objc.Send[bool](group, o.fw.isMember, rec, unsafe.Pointer(&nserr))
		// NO is both "not a member" and a failure; only the error tells.
		if !member && nserr != 0 {
			return o.fw.nsError(nserr)
		}
		return nil
	})
	return member, err
}

func (o odRecords) addMember(user string) error {
	return o.with(user, func(group, rec objc.ID) error { return o.change(group, o.fw.addMember, rec) })
}

func (o odRecords) removeMember(user string) error {
	return o.with(user, func(group, rec objc.ID) error { return o.change(group, o.fw.removeMember, rec) })
}

// change sends add or remove to the group and commits it.
func (o odRecords) change(group objc.ID, op objc.SEL, rec objc.ID) error {
	if err := o.fw.boolCall(group, op, rec); err != nil {
		return err
	}
	if err := o.fw.boolCall(group, o.fw.synchronize); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// with runs f, in an autorelease pool, on the admin group's record and
// user's record in the local node.
func (o odRecords) with(user string, f func(group, rec objc.ID) error) error {
	var err error
	withPool(o.fw, func() {
		var group, rec objc.ID
		if group, rec, err = o.fw.records(user); err == nil {
			err = f(group, rec)
		}
	})
	return err
}

// records finds the admin group's record and user's in the local node.
// The caller holds a pool.
func (fw *framework) records(user string) (group, rec objc.ID, err error) {
	session := objc.ID(objc.GetClass("ODSession")).Send(fw.defaultSession)
	if session == 0 {
		return 0, 0, errors.New("no default OpenDirectory session")
	}
	var nserr objc.ID
	node := objc.ID(objc.GetClass("ODNode")).Send(fw.nodeWithSession, session, nodeTypeLocalNodes, unsafe.Pointer(&nserr))
	if node == 0 {
		return 0, 0, fmt.Errorf("open the local directory node: %w", fw.nsError(nserr))
	}
	if group, err = fw.record(node, fw.recordTypeGroups, adminGroup); err != nil {
		return 0, 0, err
	}
	if group == 0 {
		return 0, 0, fmt.Errorf("the local directory has no %s group", adminGroup)
	}
	if rec, err = fw.record(node, fw.recordTypeUsers, user); err != nil {
		return 0, 0, err
	}
	if rec == 0 {
		return 0, 0, fmt.Errorf("%s is not a user of the local directory (a user of a network directory cannot be made a local admin this way)", user)
	}
	return group, rec, nil
}

// record finds the record of type and name in node: 0 and no error when
// there is none (the framework may report a missing record so).
func (fw *framework) record(node, recordType objc.ID, name string) (objc.ID, error) {
	// A nil name would raise an Objective-C exception, which ends the
	// process; stringWithUTF8String: gives nil for bytes not UTF-8.
	ns := fw.nsString(name)
	if ns == 0 {
		return 0, fmt.Errorf("%q is not a string the framework takes", name)
	}
	var nserr objc.ID
	r := node.Send(fw.recordWithType, recordType, ns, objc.ID(0), unsafe.Pointer(&nserr))
	if r == 0 && nserr != 0 {
		return 0, fmt.Errorf("find %s in the local directory: %w", name, fw.nsError(nserr))
	}
	return r, nil
}

// boolCall sends sel with args and an NSError out-argument last, as the
// framework's BOOL ...error: methods take them.
func (fw *framework) boolCall(recv objc.ID, sel objc.SEL, args ...any) error {
	var nserr objc.ID
	if !objc.Send[bool](recv, sel, append(args, unsafe.Pointer(&nserr))...) {
		return fw.nsError(nserr)
	}
	return nil
}

// nsError is an NSError as a Go error, by its localizedDescription.
func (fw *framework) nsError(nserr objc.ID) error {
	if nserr == 0 {
		return errors.New("OpenDirectory failed without saying why")
	}
	return errors.New(fw.goString(nserr.Send(fw.localizedDescription)))
}

func (fw *framework) nsString(s string) objc.ID {
	return objc.ID(objc.GetClass("NSString")).Send(fw.stringWithUTF8, s)
}

func (fw *framework) goString(id objc.ID) string {
	if id == 0 {
		return ""
	}
	return objc.Send[string](id, fw.utf8)
}

// withPool runs f on one OS thread inside an autorelease pool: a Go
// thread has none, and what the framework autoreleases (nodes, records,
// errors) would leak. Go strings are copied out before the pool drains.
func withPool(fw *framework, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := objc.ID(objc.GetClass("NSAutoreleasePool")).Send(fw.poolNew)
	defer pool.Send(fw.poolDrain)
	f()
}
