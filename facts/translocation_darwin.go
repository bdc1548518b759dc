package facts

import (
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// cf is the CoreFoundation and Security calls OriginalPath makes.
var cf struct {
	once        sync.Once
	ok          bool
	urlFromPath func(alloc unsafe.Pointer, buf *byte, n int, dir bool) unsafe.Pointer
	urlToPath   func(url unsafe.Pointer, resolve bool, buf *byte, n int) bool
	release     func(ref unsafe.Pointer)
	original    func(url unsafe.Pointer, errOut *unsafe.Pointer) unsafe.Pointer
}

func loadCF() bool {
	cf.once.Do(func() {
		core, err := purego.Dlopen("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			return
		}
		sec, err := purego.Dlopen("/System/Library/Frameworks/Security.framework/Security", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			return
		}
		if _, err := purego.Dlsym(sec, "SecTranslocateCreateOriginalPathForURL"); err != nil {
			return
		}
		purego.RegisterLibFunc(&cf.urlFromPath, core, "CFURLCreateFromFileSystemRepresentation")
		purego.RegisterLibFunc(&cf.urlToPath, core, "CFURLGetFileSystemRepresentation")
		purego.RegisterLibFunc(&cf.release, core, "CFRelease")
		purego.RegisterLibFunc(&cf.original, sec, "SecTranslocateCreateOriginalPathForURL")
		cf.ok = true
	})
	return cf.ok
}

// OriginalPath returns where a translocated program really is (see
// Translocated), or false when path is not translocated or the Security
// framework cannot say. Not yet exercised on a Mac.
func OriginalPath(path string) (string, bool) {
	if !Translocated(path) || !loadCF() {
		return "", false
	}
	b := []byte(path)
	url := cf.urlFromPath(nil, &b[0], len(b), false)
	if url == nil {
		return "", false
	}
	defer cf.release(url)
	var cfErr unsafe.Pointer
	orig := cf.original(url, &cfErr)
	if cfErr != nil {
		cf.release(cfErr)
	}
	if orig == nil {
		return "", false
	}
	defer cf.release(orig)
	buf := make([]byte, 4096)
	if !cf.urlToPath(orig, true, &buf[0], len(buf)) {
		return "", false
	}
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return string(buf[:n]), n > 0
}
