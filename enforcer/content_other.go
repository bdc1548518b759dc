//go:build !linux

package enforcer

import "time"

// newContentGuards: Endpoint Security hands the engine no descriptor to
// hold a file by, and answers after exec has the file open.
func newContentGuards(func() time.Time) contentGuard { return nil }
