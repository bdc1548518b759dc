package endpointsecurity

import "testing"

// The layout constants against the numbers read from Apple's SDK headers
// (macOS 14.2 SDK, arm64 and x86_64 alike; ../shared/reference/
// endpoint-security.md), written out here so that a typo in layout.go —
// which the decoder and the test buffers would share — fails.
func TestLayoutIsTheSDKs(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"sizeof(es_message_t)", sizeMessage, 224},
		{"es_message_t.time", offMessageTime, 8},
		{"es_message_t.mach_time", offMessageMachTime, 24},
		{"es_message_t.deadline", offMessageDeadline, 32},
		{"es_message_t.process", offMessageProcess, 40},
		{"es_message_t.seq_num", offMessageSeqNum, 48},
		{"es_message_t.action_type", offMessageActionType, 56},
		{"es_message_t.event_type", offMessageEventType, 96},
		{"es_message_t.event", offMessageEvent, 104},
		{"es_message_t.thread", offMessageThread, 208},
		{"es_message_t.global_seq_num", offMessageGlobalSeqNum, 216},
		{"sizeof(es_process_t)", sizeProcess, 208},
		{"es_process_t.ppid", offProcessPPID, 32},
		{"es_process_t.original_ppid", offProcessOriginalPPID, 36},
		{"es_process_t.group_id", offProcessGroupID, 40},
		{"es_process_t.session_id", offProcessSessionID, 44},
		{"es_process_t.codesigning_flags", offProcessCodesigningFlags, 48},
		{"es_process_t.is_platform_binary", offProcessIsPlatformBinary, 52},
		{"es_process_t.is_es_client", offProcessIsESClient, 53},
		{"es_process_t.cdhash", offProcessCDHash, 54},
		{"es_process_t.signing_id", offProcessSigningID, 80},
		{"es_process_t.team_id", offProcessTeamID, 96},
		{"es_process_t.executable", offProcessExecutable, 112},
		{"es_process_t.tty", offProcessTTY, 120},
		{"es_process_t.start_time", offProcessStartTime, 128},
		{"es_process_t.responsible_audit_token", offProcessResponsibleToken, 144},
		{"es_process_t.parent_audit_token", offProcessParentToken, 176},
		{"sizeof(es_file_t)", sizeFile, 168},
		{"es_file_t.path_truncated", offFilePathTruncated, 16},
		{"es_file_t.stat", offFileStat, 24},
		{"sizeof(es_string_token_t)", sizeStringToken, 16},
		{"es_string_token_t.data", offStringTokenData, 8},
		{"sizeof(es_event_exec_t)", sizeEventExec, 88},
		{"es_event_exec_t.dyld_exec_path", offExecDyldExecPath, 8},
		{"es_event_exec_t.script", offExecScript, 24},
		{"es_event_exec_t.cwd", offExecCwd, 32},
		{"es_event_exec_t.last_fd", offExecLastFD, 40},
		{"es_event_exec_t.image_cputype", offExecImageCPUType, 44},
		{"es_event_exec_t.image_cpusubtype", offExecImageCPUSubtype, 48},
		{"sizeof(es_event_fork_t)", sizeEventFork, 72},
		{"sizeof(es_event_exit_t)", sizeEventExit, 68},
		{"sizeof(es_event_signal_t)", sizeEventSignal, 80},
		{"es_event_signal_t.target", offSignalTarget, 8},
		{"sizeof(audit_token_t)", sizeAuditToken, 32},
		{"sizeof(struct stat)", sizeStat, 144},
		{"stat.st_mode", offStatMode, 4},
		{"stat.st_ino", offStatIno, 8},
		{"stat.st_uid", offStatUID, 16},
		{"stat.st_gid", offStatGID, 20},
		{"stat.st_mtimespec", offStatMtime, 48},
		{"stat.st_ctimespec", offStatCtime, 64},
		{"stat.st_size", offStatSize, 96},
		{"ES_EVENT_TYPE_AUTH_EXEC", int(AuthExec), 0},
		{"ES_EVENT_TYPE_AUTH_OPEN", int(AuthOpen), 1},
		{"ES_EVENT_TYPE_AUTH_RENAME", int(AuthRename), 6},
		{"ES_EVENT_TYPE_AUTH_SIGNAL", int(AuthSignal), 7},
		{"ES_EVENT_TYPE_AUTH_UNLINK", int(AuthUnlink), 8},
		{"ES_EVENT_TYPE_NOTIFY_EXEC", int(NotifyExec), 9},
		{"ES_EVENT_TYPE_NOTIFY_FORK", int(NotifyFork), 11},
		{"ES_EVENT_TYPE_NOTIFY_CLOSE", int(NotifyClose), 12},
		{"ES_EVENT_TYPE_NOTIFY_EXIT", int(NotifyExit), 15},
		{"ES_EVENT_TYPE_AUTH_TRUNCATE", int(AuthTruncate), 40},
		{"ES_EVENT_TYPE_AUTH_LINK", int(AuthLink), 42},
		{"ES_EVENT_TYPE_AUTH_CREATE", int(AuthCreate), 44},
		{"ES_EVENT_TYPE_AUTH_CLONE", int(AuthClone), 60},
		{"ES_EVENT_TYPE_AUTH_COPYFILE", int(AuthCopyfile), 109},
		{"ES_EVENT_TYPE_LAST", int(eventTypeEnd), 146},
		{"ES_AUTH_RESULT_DENY", authResultDeny, 1},
		{"ES_RESPOND_RESULT_ERR_DUPLICATE_RESPONSE", respondDuplicateResponse, 4},
		{"ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED", newClientNotEntitled, 3},
		{"ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED", newClientNotPermitted, 4},
		{"ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED", newClientNotPrivileged, 5},
		{"ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS", newClientTooManyClients, 6},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, the SDK says %d", c.name, c.got, c.want)
		}
	}
}
