// Package mainthread runs functions on the process's main thread, where
// AppKit and NSAppleScript must be called. On macOS the agent's main thread
// belongs to Wails' run loop, so work is queued to the main dispatch queue
// (dispatch_async_f through purego, no cgo); the function runs when the
// run loop gets to it, never on the caller's goroutine. Only macOS has an
// implementation; nothing else calls it. Not yet run on a Mac.
package mainthread
