package enforcer

import "syscall"

func statOf(s *syscall.Stat_t) fileStat {
	return fileStat{
		key:    fileKey{dev: uint64(s.Dev), ino: uint64(s.Ino)},
		stamp:  fileStamp{size: s.Size, mtimeNs: s.Mtim.Nano(), ctimeNs: s.Ctim.Nano()},
		sealed: sealedMode(s.Uid, s.Mode),
	}
}
