// Package fanotify is gatehoused's Linux kernel adapter for program starts.
//
// A Listener holds every exec on the marked filesystems (FAN_OPEN_EXEC_PERM)
// until the caller answers it; a WriteWatch reports files closed after
// writing, so a cache keyed by (device, inode) can drop them. The package
// only translates kernel messages; deciding is the enforcer's business.
//
// fanotify has no deadline: a permission event nobody answers freezes the
// task that is exec'ing, and a stuck listener freezes every exec on its
// filesystems, the daemon's own shell-outs included. So this package fails open
// wherever it has a choice:
//   - events it cannot use (no descriptor, a mask it did not ask for) are
//     allowed at once and counted as Malformed;
//   - execs by the listening process itself are allowed at once, so the
//     daemon can never wait on itself;
//   - when Run returns, for any reason, it closes the group, and the kernel
//     allows every exec still waiting — including events handed to the
//     caller and not yet answered.
//
// The process holding a Listener must not start programs on its marked
// filesystems itself. os/exec starts a child with vfork, and syscall.Exec runs
// execve directly; either way the calling thread keeps its Go scheduler
// slot (P), unpreemptible, inside the kernel until the exec is answered. A
// stop-the-world (every GC cycle has two) that begins in that window waits
// for that thread forever, the reading goroutine stops with the world, and
// nothing answers: the daemon and every exec on its mounts freeze. With
// GOMAXPROCS such starts in flight the same happens without a GC. Start
// programs from a helper process made for it, or Close the Listener before
// a final syscall.Exec. (Execs by the process itself are allowed without
// the handler, but the reading goroutine still has to run to allow them.)
//
// Marks are filesystem marks (FAN_MARK_FILESYSTEM): each covers one
// filesystem however it is reached — any mount of it, a bind mount, the
// copies of its mounts in other mount namespaces (a container, a user's
// own unshare -Urm). What they do not see: a filesystem mounted after the
// marks were set until the caller marks it too (a new mount in another
// mount namespace is not in this process's mountinfo at all), and files on
// no mountable filesystem (memfd_create, which internal mounts hold and
// which refuse marks). See docs/enforcer.md for what closes those.
//
// The package builds on every platform so that its parsers are tested
// everywhere; the kernel interface exists only on Linux.
package fanotify
