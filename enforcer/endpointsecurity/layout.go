// Package endpointsecurity is the macOS event source's kernel side: it
// decodes Endpoint Security messages and runs a client of
// libEndpointSecurity. The client's logic (conn.go: muting itself and
// what it is not asked about, subscribing, retaining and answering each
// AUTH message once, allowing one that does not decode, bounded argv) is
// written over a small interface of the library's calls, bound by purego
// on macOS (client_darwin.go) and faked in tests on Linux. It does not
// import the engine; the adapter in cmd/gatehoused translates, as for
// fanotify.
//
// The decoder reads a message at byte offsets taken from Apple's SDK
// headers (macOS 14.2 SDK, the same on arm64 and x86_64; the numbers are
// in ../shared/reference/endpoint-security.md and pinned by layout_test.go;
// only the authorization events' are derived from the header's field
// types instead, not measured, as their constants say), through a small
// memory interface: on macOS the message itself, in tests byte buffers
// laid out as the kernel lays them out. A field is read only when the
// message's version has it.
package endpointsecurity

// Sizes and offsets, in bytes.
const (
	sizeMessage = 224

	offMessageVersion      = 0
	offMessageTime         = 8 // struct timespec
	offMessageMachTime     = 24
	offMessageDeadline     = 32
	offMessageProcess      = 40 // es_process_t *
	offMessageSeqNum       = 48 // version >= 2
	offMessageActionType   = 56
	offMessageEventType    = 96
	offMessageEvent        = 104 // es_events_t, a union, inline
	offMessageThread       = 208 // es_thread_t *, version >= 4
	offMessageGlobalSeqNum = 216 // version >= 4

	sizeProcess                = 208
	offProcessAuditToken       = 0
	offProcessPPID             = 32
	offProcessOriginalPPID     = 36
	offProcessGroupID          = 40
	offProcessSessionID        = 44
	offProcessCodesigningFlags = 48
	offProcessIsPlatformBinary = 52
	offProcessIsESClient       = 53
	offProcessCDHash           = 54  // uint8_t[20]
	offProcessSigningID        = 80  // es_string_token_t
	offProcessTeamID           = 96  // es_string_token_t
	offProcessExecutable       = 112 // es_file_t *
	offProcessTTY              = 120 // es_file_t *, version >= 2
	offProcessStartTime        = 128 // struct timeval, version >= 3
	offProcessResponsibleToken = 144 // version >= 4
	offProcessParentToken      = 176 // version >= 4
	sizeFile                   = 168
	offFilePath                = 0 // es_string_token_t
	offFilePathTruncated       = 16
	offFileStat                = 24 // struct stat
	sizeStringToken            = 16
	offStringTokenLength       = 0
	offStringTokenData         = 8
	sizeEventExec              = 88
	offExecTarget              = 0  // es_process_t *
	offExecDyldExecPath        = 8  // es_string_token_t, version >= 7
	offExecScript              = 24 // es_file_t *, version >= 2
	offExecCwd                 = 32 // es_file_t *, version >= 3
	offExecLastFD              = 40 // version >= 4
	offExecImageCPUType        = 44 // version >= 6
	offExecImageCPUSubtype     = 48 // version >= 6
	offForkChild               = 0  // es_process_t *
	sizeEventFork              = 72
	offExitStat                = 0
	sizeEventExit              = 68
	offSignalSig               = 0 // int
	offSignalTarget            = 8 // es_process_t *
	sizeEventSignal            = 80
	sizeAuditToken             = 32

	// File events. Where an event has a union of an existing file and a
	// new path (rename's and create's destination), the new path is
	// { es_file_t *dir; es_string_token_t filename; ... } at the union's
	// offset: the filename follows the pointer (8 bytes on both
	// architectures), as memory_darwin.go checks.
	sizeEventRename       = 104
	offRenameSource       = 0 // es_file_t *
	offRenameDestType     = 8 // es_destination_type_t
	offRenameDest         = 16
	sizeEventUnlink       = 80
	offUnlinkTarget       = 0 // es_file_t *
	offUnlinkParentDir    = 8 // es_file_t *
	sizeEventCreate       = 104
	offCreateDestType     = 0
	offCreateDest         = 8
	offNewPathFilename    = 8 // within the new_path struct of a destination union
	sizeEventClone        = 96
	offCloneSource        = 0  // es_file_t *
	offCloneTargetDir     = 8  // es_file_t *
	offCloneTargetName    = 16 // es_string_token_t
	sizeEventLink         = 96
	offLinkSource         = 0
	offLinkTargetDir      = 8
	offLinkTargetFilename = 16
	sizeEventExchangedata = 80
	offExchangedataFile1  = 0
	offExchangedataFile2  = 8
	sizeEventTruncate     = 72
	offTruncateTarget     = 0
	destinationExisting   = 0 // ES_DESTINATION_TYPE_EXISTING_FILE
	destinationNewPath    = 1 // ES_DESTINATION_TYPE_NEW_PATH
	sizeStat              = 144
	offStatDev            = 0
	offStatMode           = 4
	offStatIno            = 8
	offStatUID            = 16
	offStatGID            = 20
	offStatMtime          = 48 // struct timespec
	offStatCtime          = 64 // struct timespec
	offStatSize           = 96
	sizeTimespec          = 16
	sizeThread            = 8
	cdhashLen             = 20
	maxStringToken        = 1 << 20 // longer is not a path or an identifier: refused

	// LoginWindow's logout and screen lock (macOS 13). es_events_t holds
	// an event added in macOS 13 or later as a pointer to it, not inline
	// (ESMessage.h: "Events added in macOS 13.0 or later use nonnull
	// pointers"; es_events_t.lw_session_login is an UnsafeMutablePointer
	// in Apple's documentation), so the union's first 8 bytes point to
	// { es_string_token_t username; es_graphical_session_id_t
	// graphical_session_id; }, the same for both events.
	offEventPointer         = 0   // within es_events_t, for macOS 13 events
	sizeEventLWSession      = 24  // es_event_lw_session_logout_t, es_event_lw_session_lock_t
	offLWSessionUsername    = 0   // es_string_token_t
	offLWSessionGraphicalID = 16  // es_graphical_session_id_t (uint32_t)
	maxUsername             = 255 // bytes; a longer user name is refused

	// Authorization petitions and judgements (macOS 14): authd's report,
	// after the fact, of a process asking for rights and of its answer,
	// reached through the union's pointer as the session events are.
	// Unlike the numbers above, these were not measured: the reference
	// file has only the event types. They are derived, by C's layout
	// rules for LP64 (the same on arm64 and x86_64), from the field types
	// of ESMessage.h as Apple publishes it for the macOS 14 SDK (copies
	// of the header and of HarfangLab/endpoint-sec's endpoint-sec-sys
	// message.rs, feature macos_14_0_0, agree; Apple's documentation of
	// es_event_authorization_petition_t gives the same types):
	//
	//	es_event_authorization_petition_t {
	//		es_process_t *instigator;      // 0
	//		es_process_t *petitioner;      // 8, nullable
	//		uint32_t flags;                // 16, then 4 bytes of padding
	//		size_t right_count;            // 24
	//		es_string_token_t *rights;     // 32; 40 bytes in all
	//	}
	//	es_authorization_result_t {
	//		es_string_token_t right_name;  // 0
	//		es_authorization_rule_class_t rule_class; // 16, a C enum: 4 bytes
	//		bool granted;                  // 20; padded to 24
	//	}
	//	es_event_authorization_judgement_t {
	//		es_process_t *instigator;      // 0
	//		es_process_t *petitioner;      // 8, nullable
	//		int return_code;               // 16, then padding
	//		size_t result_count;           // 24
	//		es_authorization_result_t *results; // 32; 40 bytes in all
	//	}
	//
	// The macOS 15 SDK makes the instigator nullable too and appends two
	// audit tokens (instigator_token, petitioner_token; message version
	// >= 8), which are not read. memory_darwin.go checks the arithmetic
	// against Go mirrors of these structs; only a Mac can check the
	// field lists themselves.
	sizeEventAuthPetition       = 40
	offAuthPetitionInstigator   = 0  // es_process_t *
	offAuthPetitionPetitioner   = 8  // es_process_t *, nullable
	offAuthPetitionFlags        = 16 // uint32_t, AuthorizationFlags
	offAuthPetitionRightCount   = 24 // size_t
	offAuthPetitionRights       = 32 // es_string_token_t *
	sizeEventAuthJudgement      = 40
	offAuthJudgementInstigator  = 0  // es_process_t *
	offAuthJudgementPetitioner  = 8  // es_process_t *, nullable
	offAuthJudgementReturnCode  = 16 // int, an OSStatus of Authorization.h
	offAuthJudgementResultCount = 24 // size_t
	offAuthJudgementResults     = 32 // es_authorization_result_t *
	sizeAuthResult              = 24 // es_authorization_result_t
	offAuthResultRightName      = 0  // es_string_token_t
	offAuthResultRuleClass      = 16 // es_authorization_rule_class_t
	offAuthResultGranted        = 20 // bool
	// A petition or judgement over maxAuthRights rights, or a right's
	// name over maxRightName bytes or not UTF-8, does not decode (an
	// error, counted as any message that does not decode), rather than
	// being cut short: a record of some of the rights would read as the
	// whole request. Real requests name a few rights, each a dotted name
	// of some dozens of bytes.
	maxAuthRights = 64
	maxRightName  = 1024
)

// Message versions from which fields may be read.
const (
	versionSeqNum       = 2
	versionThread       = 4
	versionTTY          = 2
	versionStartTime    = 3
	versionTokens       = 4
	versionExecScript   = 2
	versionExecCwd      = 3
	versionExecLastFD   = 4
	versionExecImageCPU = 6
	versionExecDyldPath = 7
)

// EventType is es_event_type_t.
type EventType uint32

// The event types the daemon subscribes to or may.
const (
	AuthExec         EventType = 0
	AuthOpen         EventType = 1
	AuthRename       EventType = 6
	AuthSignal       EventType = 7
	AuthUnlink       EventType = 8
	NotifyExec       EventType = 9
	NotifyFork       EventType = 11
	NotifyClose      EventType = 12
	NotifyExit       EventType = 15
	AuthTruncate     EventType = 40
	AuthLink         EventType = 42
	AuthCreate       EventType = 44
	AuthClone        EventType = 60
	AuthExchangedata EventType = 80
	AuthCopyfile     EventType = 109
	eventTypeEnd     EventType = 146 // ES_EVENT_TYPE_LAST

	// LoginWindow's session events exist from macOS 13 on; an older
	// system may refuse a subscription that names them (conn.Subscribe).
	NotifyLWSessionLogout EventType = 115
	NotifyLWSessionLock   EventType = 116

	// authd's authorization petitions and judgements exist from macOS 14
	// on: subscribed to apart from the session events, for the same
	// reason.
	NotifyAuthorizationPetition  EventType = 129
	NotifyAuthorizationJudgement EventType = 130
)

// ActionType is es_action_type_t.
type ActionType uint32

const (
	ActionAuth   ActionType = 0
	ActionNotify ActionType = 1
)

// Results and return codes.
const (
	authResultAllow = 0
	authResultDeny  = 1

	respondSuccess           = 0
	respondInvalidArgument   = 1
	respondInternal          = 2
	respondNotFound          = 3
	respondDuplicateResponse = 4
	respondEventType         = 5

	newClientSuccess         = 0
	newClientInvalidArgument = 1
	newClientInternal        = 2
	newClientNotEntitled     = 3
	newClientNotPermitted    = 4
	newClientNotPrivileged   = 5
	newClientTooManyClients  = 6

	returnSuccess = 0
	returnError   = 1

	mutePathLiteral         = 1 // ES_MUTE_PATH_TYPE_LITERAL: a process's executable
	mutePathTargetPrefix    = 2 // ES_MUTE_PATH_TYPE_TARGET_PREFIX
	muteInversionTargetPath = 2 // ES_MUTE_INVERSION_TYPE_TARGET_PATH
)
