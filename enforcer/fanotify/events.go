package fanotify

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The layout of struct fanotify_event_metadata (linux/fanotify.h), kept here
// rather than taken from x/sys/unix so the parser builds and is tested on
// every platform.
const (
	metadataVersion = 3  // FANOTIFY_METADATA_VERSION
	metadataSize    = 24 // sizeof(struct fanotify_event_metadata)
	noFD            = -1 // FAN_NOFD
)

// metadata is one decoded struct fanotify_event_metadata.
type metadata struct {
	mask uint64
	fd   int32
	pid  int32
}

// errVersion means the kernel speaks a metadata version this package does
// not know; nothing in its buffers can be trusted.
var errVersion = errors.New("fanotify metadata version mismatch")

// parseEvents appends the events in buf, the bytes of one read(2) of a
// fanotify descriptor, to dst. Information records after the fixed header
// (event_len > metadata_len) are skipped.
//
// The kernel never returns a partial event, so anything that does not frame
// exactly is an error. It returns the events framed before the error, whose
// descriptors the caller must still answer and close; the rest of the buffer
// is lost, which is why callers treat any error as fatal and close the group
// (the kernel then allows whatever those lost events were holding).
func parseEvents(dst []metadata, buf []byte) ([]metadata, error) {
	for off := 0; off < len(buf); {
		rest := buf[off:]
		if len(rest) < metadataSize {
			return dst, fmt.Errorf("fanotify event at offset %d: %d bytes left, want %d", off, len(rest), metadataSize)
		}
		eventLen := binary.NativeEndian.Uint32(rest[0:4])
		vers := rest[4]
		metaLen := binary.NativeEndian.Uint16(rest[6:8])
		if vers != metadataVersion {
			return dst, fmt.Errorf("%w: kernel sent %d, this build knows %d", errVersion, vers, metadataVersion)
		}
		if metaLen < metadataSize || eventLen < uint32(metaLen) || uint64(eventLen) > uint64(len(rest)) {
			return dst, fmt.Errorf("fanotify event at offset %d: event_len %d, metadata_len %d, %d bytes left", off, eventLen, metaLen, len(rest))
		}
		dst = append(dst, metadata{
			mask: binary.NativeEndian.Uint64(rest[8:16]),
			fd:   int32(binary.NativeEndian.Uint32(rest[16:20])),
			pid:  int32(binary.NativeEndian.Uint32(rest[20:24])),
		})
		off += int(eventLen)
	}
	return dst, nil
}
