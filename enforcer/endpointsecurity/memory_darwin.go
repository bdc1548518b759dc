//go:build darwin

package endpointsecurity

import "unsafe"

// messageMemory reads a message the kernel handed over, in place; the
// message and what it points to stay valid until it is released.
type messageMemory struct{}

func (messageMemory) bytes(p unsafe.Pointer, off, n int) ([]byte, error) {
	if p == nil {
		return nil, errNull
	}
	return unsafe.Slice((*byte)(unsafe.Add(p, off)), n), nil
}

func (messageMemory) ptr(p unsafe.Pointer, off int) (unsafe.Pointer, error) {
	if p == nil {
		return nil, errNull
	}
	return *(*unsafe.Pointer)(unsafe.Add(p, off)), nil
}

// Decode reads the es_message_t at msg.
func Decode(msg unsafe.Pointer) (Message, error) {
	return decode[unsafe.Pointer](messageMemory{}, msg)
}

// Go mirrors of the SDK's structs whose shape the decoder depends on,
// checked at compile time against the headers' numbers in layout.go: a
// mismatch makes `GOOS=darwin go vet` fail (an array of non-zero or
// negative length).
type (
	esStringToken struct {
		length uintptr
		data   unsafe.Pointer
	}
	auditToken struct{ val [8]uint32 }
	timespec   struct{ sec, nsec int64 }
	timeval    struct {
		sec  int64
		usec int32
	}
	darwinStat struct {
		dev                        int32
		mode, nlink                uint16
		ino                        uint64
		uid, gid                   uint32
		rdev                       int32
		atime, mtime, ctime, btime timespec
		size, blocks               int64
		blksize                    int32
		flags, gen                 uint32
		lspare                     int32
		qspare                     [2]int64
	}
	esFile struct {
		path          esStringToken
		pathTruncated bool
		stat          darwinStat
	}
	esProcess struct {
		auditToken                   auditToken
		ppid, originalPPID           int32
		groupID, sessionID           int32
		codesigningFlags             uint32
		isPlatformBinary, isESClient bool
		cdhash                       [cdhashLen]uint8
		signingID, teamID            esStringToken
		executable, tty              *esFile
		startTime                    timeval
		responsible, parent          auditToken
	}
	esEventExec struct {
		target                    *esProcess
		dyldExecPath              esStringToken
		script, cwd               *esFile
		lastFD                    int32
		imageCPUType, imageCPUSub int32
		reserved                  [36]uint8
	}
	esEventSignal struct {
		sig      int32
		target   *esProcess
		reserved [64]uint8
	}
	// esNewPath is the new_path arm of rename's destination union.
	esNewPath struct {
		dir      *esFile
		filename esStringToken
	}
	// esCreateNewPath is create's, which adds the mode; the C union pads
	// it to a multiple of its pointer alignment.
	esCreateNewPath struct {
		dir      *esFile
		filename esStringToken
		mode     uint16
		_        [6]byte
	}
	esEventRename struct {
		source          *esFile
		destinationType uint32
		destination     esNewPath // or existing_file at the same offset
		reserved        [64]uint8
	}
	esEventCreate struct {
		destinationType uint32
		destination     esCreateNewPath // or existing_file at the same offset
		reserved2       [16]uint8
		reserved        [48]uint8 // or acl_t acl (version >= 2)
	}
	esEventUnlink struct {
		target, parentDir *esFile
		reserved          [64]uint8
	}
	esEventClone struct {
		source, targetDir *esFile
		targetName        esStringToken
		reserved          [64]uint8
	}
	esEventLink struct {
		source, targetDir *esFile
		targetFilename    esStringToken
		reserved          [64]uint8
	}
	esEventExchangedata struct {
		file1, file2 *esFile
		reserved     [64]uint8
	}
	esEventTruncate struct {
		target   *esFile
		reserved [64]uint8
	}
	// esEventLWSession is es_event_lw_session_logout_t and
	// es_event_lw_session_lock_t alike, reached through a pointer in
	// es_events_t.
	esEventLWSession struct {
		username           esStringToken
		graphicalSessionID uint32
	}
	// The authorization events' structs (macOS 14 SDK), reached through
	// a pointer in es_events_t. Their layout constants are derived from
	// the header's field types, not measured (layout.go): these mirrors
	// check that arithmetic, not the field lists.
	esEventAuthPetition struct {
		instigator, petitioner *esProcess
		flags                  uint32
		rightCount             uintptr // size_t
		rights                 *esStringToken
	}
	esAuthResult struct {
		rightName esStringToken
		ruleClass uint32 // es_authorization_rule_class_t, a C enum
		granted   bool
	}
	esEventAuthJudgement struct {
		instigator, petitioner *esProcess
		returnCode             int32
		resultCount            uintptr // size_t
		results                *esAuthResult
	}
	esMessageHead struct {
		version      uint32
		time         timespec
		machTime     uint64
		deadline     uint64
		process      *esProcess
		seqNum       uint64
		actionType   uint32
		action       [36]byte // union of es_event_id_t (32 bytes) and es_result_t (36)
		eventType    uint32
		event        [13]uint64 // es_events_t: 104 bytes, pointer-aligned
		thread       unsafe.Pointer
		globalSeqNum uint64
	}
)

var (
	_ [0]struct{} = [unsafe.Sizeof(esStringToken{}) - sizeStringToken]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esStringToken{}.data) - offStringTokenData]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(auditToken{}) - sizeAuditToken]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(timespec{}) - sizeTimespec]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(darwinStat{}) - sizeStat]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(darwinStat{}.mode) - offStatMode]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(darwinStat{}.ino) - offStatIno]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(darwinStat{}.uid) - offStatUID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(darwinStat{}.gid) - offStatGID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(darwinStat{}.mtime) - offStatMtime]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(darwinStat{}.ctime) - offStatCtime]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(darwinStat{}.size) - offStatSize]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(esFile{}) - sizeFile]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esFile{}.pathTruncated) - offFilePathTruncated]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esFile{}.stat) - offFileStat]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(esProcess{}) - sizeProcess]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.ppid) - offProcessPPID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.originalPPID) - offProcessOriginalPPID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.groupID) - offProcessGroupID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.sessionID) - offProcessSessionID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.codesigningFlags) - offProcessCodesigningFlags]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.isPlatformBinary) - offProcessIsPlatformBinary]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.isESClient) - offProcessIsESClient]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.cdhash) - offProcessCDHash]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.signingID) - offProcessSigningID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.teamID) - offProcessTeamID]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.executable) - offProcessExecutable]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.tty) - offProcessTTY]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.startTime) - offProcessStartTime]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.responsible) - offProcessResponsibleToken]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esProcess{}.parent) - offProcessParentToken]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(esEventExec{}) - sizeEventExec]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventExec{}.dyldExecPath) - offExecDyldExecPath]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventExec{}.script) - offExecScript]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventExec{}.cwd) - offExecCwd]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventExec{}.lastFD) - offExecLastFD]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventExec{}.imageCPUType) - offExecImageCPUType]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventExec{}.imageCPUSub) - offExecImageCPUSubtype]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(esEventSignal{}) - sizeEventSignal]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventSignal{}.target) - offSignalTarget]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(esEventRename{}) - sizeEventRename]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventRename{}.source) - offRenameSource]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventRename{}.destinationType) - offRenameDestType]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventRename{}.destination) - offRenameDest]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esNewPath{}.filename) - offNewPathFilename]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventCreate{}) - sizeEventCreate]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventCreate{}.destination) - offCreateDest]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esCreateNewPath{}.filename) - offNewPathFilename]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventUnlink{}) - sizeEventUnlink]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventUnlink{}.parentDir) - offUnlinkParentDir]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventClone{}) - sizeEventClone]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventClone{}.targetDir) - offCloneTargetDir]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventClone{}.targetName) - offCloneTargetName]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventLink{}) - sizeEventLink]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventLink{}.targetDir) - offLinkTargetDir]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventLink{}.targetFilename) - offLinkTargetFilename]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventExchangedata{}) - sizeEventExchangedata]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventExchangedata{}.file2) - offExchangedataFile2]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventTruncate{}) - sizeEventTruncate]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventLWSession{}) - sizeEventLWSession]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventLWSession{}.graphicalSessionID) - offLWSessionGraphicalID]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(esEventAuthPetition{}) - sizeEventAuthPetition]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthPetition{}.instigator) - offAuthPetitionInstigator]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthPetition{}.petitioner) - offAuthPetitionPetitioner]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthPetition{}.flags) - offAuthPetitionFlags]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthPetition{}.rightCount) - offAuthPetitionRightCount]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthPetition{}.rights) - offAuthPetitionRights]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esAuthResult{}) - sizeAuthResult]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esAuthResult{}.rightName) - offAuthResultRightName]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esAuthResult{}.ruleClass) - offAuthResultRuleClass]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esAuthResult{}.granted) - offAuthResultGranted]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(esEventAuthJudgement{}) - sizeEventAuthJudgement]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthJudgement{}.instigator) - offAuthJudgementInstigator]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthJudgement{}.petitioner) - offAuthJudgementPetitioner]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthJudgement{}.returnCode) - offAuthJudgementReturnCode]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthJudgement{}.resultCount) - offAuthJudgementResultCount]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esEventAuthJudgement{}.results) - offAuthJudgementResults]struct{}{}

	_ [0]struct{} = [unsafe.Sizeof(esMessageHead{}) - sizeMessage]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.time) - offMessageTime]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.machTime) - offMessageMachTime]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.deadline) - offMessageDeadline]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.process) - offMessageProcess]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.seqNum) - offMessageSeqNum]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.actionType) - offMessageActionType]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.eventType) - offMessageEventType]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.event) - offMessageEvent]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.thread) - offMessageThread]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(esMessageHead{}.globalSeqNum) - offMessageGlobalSeqNum]struct{}{}
)
