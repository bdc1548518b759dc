/*
 * GatehouseAuth.c: the mechanism "gatehouse:decide" of Gatehouse's
 * authorization plugin (docs/macos.md, "Authorization requests (the
 * padlock)"). It asks gatehoused about the right being evaluated and
 * relays the verdict; it decides nothing itself.
 *
 * Where it runs. The rights Gatehouse manages delegate, first, to the right
 * com.gatehouse.decide (class evaluate-mechanisms, one mechanism
 * "gatehouse:decide,privileged", tries 1), and then to a copy of their
 * original definition; the delegation is k-of-n 1 (internal/authdb has the
 * reasoning). "privileged" makes authd run this code as root in
 * authorizationhost, so gatehoused (which answers only root and polkitd's
 * user) knows it as root from the socket's peer credentials; nothing in
 * the request says who is asking.
 *
 * What each answer does (authd's engine.c: _evaluate_class_rule stops a
 * k-of-n evaluation on a success, goes on to the next delegate on a
 * denial, and aborts on a cancel or an internal error):
 *
 *   yes          -> kAuthorizationResultAllow: the right is granted, no
 *                   password asked.
 *   no           -> kAuthorizationResultUserCanceled: the evaluation stops
 *                   and the program is refused (errAuthorizationCanceled,
 *                   which apps take for "the user cancelled", showing no
 *                   error of their own, to be confirmed on a Mac;
 *                   Gatehouse's agent tells the user instead).
 *                   kAuthorizationResultDeny would not do: in the k-of-n
 *                   it only moves on to the original definition, which
 *                   asks for an administrator's password as before.
 *   not_handled, -> kAuthorizationResultDeny: "this delegate does not
 *   anything       grant it", so the original definition is evaluated
 *   else           exactly as without Gatehouse. Never Allow (a failure
 *                  must not grant) and never Undefined (errAuthorization-
 *                  Internal aborts the evaluation: a gatehoused that is
 *                  down would break every managed right).
 *
 * "Anything else": no socket, a refusal (403), a timeout (GH_BUDGET_MS for
 * connect, write and read together), an answer that is not HTTP 200 with
 * one JSON object whose "verdict" is one of the three words, a hint that
 * is missing or malformed.
 *
 * Bounds: every buffer is a fixed array on the stack; a hint, a request or
 * an answer that does not fit is refused, never truncated. One allocation
 * per mechanism instance (MechanismCreate), freed in MechanismDestroy.
 *
 * Built on a Mac by the Makefile beside it, against Apple's headers. On
 * Linux, internal/authdb's tests compile it against stub/ (a stand-in for
 * the few declarations it uses) and run it against a real Unix socket.
 */

#include <Security/AuthorizationPlugin.h>
#include <bsm/libbsm.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The socket gatehoused listens on: localapi.DefaultSocket on darwin
 * (localapi/socket_darwin.go). A configured other path is not followed. */
#define GH_SOCKET "/var/run/gatehouse/gatehoused.sock"

/* The whole exchange (connect, request, answer) must fit in this budget:
 * authd waits for the mechanism, and the user waits for authd. */
#define GH_BUDGET_MS 2000

/* A right is at most 255 characters of [A-Za-z0-9._-], starting with a
 * letter or digit: what gatehoused accepts (enforcer/authreq.go), and so
 * it needs no escaping in JSON. */
#define GH_RIGHT_MAX 255

#define GH_REQUEST_MAX 640 /* headers (~150) + body (~300) */
#define GH_ANSWER_MAX 8192 /* an AuthorizeResult is well under 4 KiB */

/* Hint names, from Security's AuthorizationTagsPriv.h (AGENT_HINT_*), as
 * authd's engine.c sets them: the right (string, not NUL-terminated), the
 * process that created the AuthorizationRef (its audit token, 32 bytes)
 * and, as a fallback, the process calling authd now (int32 pid, uint32
 * effective uid). */
#define GH_HINT_RIGHT "authorize-right"
#define GH_HINT_CREATOR_TOKEN "creator-audit-token"
#define GH_HINT_CLIENT_PID "client-pid"
#define GH_HINT_CLIENT_UID "client-uid"

enum gh_verdict { GH_ERROR = 0, GH_YES, GH_NO, GH_NOT_HANDLED };

/* A variable rather than the macro itself only so that the Linux test
 * harness (internal/authdb/testdata/shimharness.c, which includes this
 * file) can point it at its own socket. Nothing here changes it. */
static const char *gh_socket_path = GH_SOCKET;

static const AuthorizationCallbacks *gh_engine_callbacks;

struct gh_mechanism {
	AuthorizationEngineRef engine;
};

static void gh_log(int priority, const char *what, const char *right, const char *detail)
{
	syslog(LOG_AUTH | priority, "gatehouse:decide: %s%s%s%s%s", what, right ? " " : "", right ? right : "",
	       detail ? ": " : "", detail ? detail : "");
}

/* --- the question ---------------------------------------------------- */

static int gh_right_ok(const char *s, size_t n)
{
	if (n == 0 || n > GH_RIGHT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* gh_hint_right copies the right being evaluated into out (NUL-terminated).
 * authd stores strings without their NUL; one trailing NUL is accepted in
 * case a host adds it. */
static int gh_hint_right(AuthorizationEngineRef engine, char out[GH_RIGHT_MAX + 1])
{
	const AuthorizationValue *v = NULL;
	if (gh_engine_callbacks->GetHintValue(engine, GH_HINT_RIGHT, &v) != errAuthorizationSuccess || v == NULL ||
	    v->data == NULL)
		return 0;
	size_t n = v->length;
	if (n > 0 && ((const char *)v->data)[n - 1] == '\0')
		n--;
	if (!gh_right_ok(v->data, n))
		return 0;
	memcpy(out, v->data, n);
	out[n] = '\0';
	return 1;
}

static int gh_hint_fixed(AuthorizationEngineRef engine, const char *name, void *out, size_t size)
{
	const AuthorizationValue *v = NULL;
	if (gh_engine_callbacks->GetHintValue(engine, name, &v) != errAuthorizationSuccess || v == NULL ||
	    v->data == NULL || v->length != size)
		return 0;
	memcpy(out, v->data, size);
	return 1;
}

/* gh_hint_subject finds the program that asks. The creator of the
 * AuthorizationRef comes first: it is the program the password dialog
 * names (authd's _set_auth_token_hints gives the dialog the creator's
 * path as client-path), and it stays the subject when it hands its
 * AuthorizationRef to a helper that asks again. The client (the process
 * talking to authd now) is used when there is no token. The uid is the
 * effective one, as authd's own client-uid; gatehoused checks that the
 * process runs as that user. */
static int gh_hint_subject(AuthorizationEngineRef engine, int32_t *pid, uint32_t *uid)
{
	audit_token_t token;
	if (gh_hint_fixed(engine, GH_HINT_CREATOR_TOKEN, &token, sizeof token)) {
		*pid = (int32_t)audit_token_to_pid(token);
		*uid = (uint32_t)audit_token_to_euid(token);
	} else if (!gh_hint_fixed(engine, GH_HINT_CLIENT_PID, pid, sizeof *pid) ||
		   !gh_hint_fixed(engine, GH_HINT_CLIENT_UID, uid, sizeof *uid)) {
		return 0;
	}
	return *pid > 0;
}

/* --- the exchange with gatehoused ------------------------------------ */

static int gh_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return 0;
	long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : (int)ms;
}

/* gh_wait waits for fd to become ready for events, within the budget. */
static int gh_wait(int fd, short events, const struct timespec *deadline)
{
	for (;;) {
		int left = gh_ms_left(deadline);
		if (left == 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left);
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return 0;
	}
}

static int gh_connect(const char *path, const struct timespec *deadline)
{
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n >= sizeof addr.sun_path)
		return -1;
	memcpy(addr.sun_path, path, n + 1);

	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
#ifdef SO_NOSIGPIPE
	/* A daemon that closes early must not kill authorizationhost. */
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		goto fail;
	if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) != 0) {
		int err = 0;
		socklen_t len = sizeof err;
		if (errno != EINPROGRESS || !gh_wait(fd, POLLOUT, deadline) ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int gh_send_all(int fd, const char *p, size_t n, const struct timespec *deadline)
{
#ifdef MSG_NOSIGNAL
	const int flags = MSG_NOSIGNAL;
#else
	const int flags = 0;
#endif
	size_t off = 0;
	while (off < n) {
		if (!gh_wait(fd, POLLOUT, deadline))
			return 0;
		ssize_t w = send(fd, p + off, n - off, flags);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return 0;
		off += (size_t)w;
	}
	return 1;
}

/* gh_recv_all reads the answer until gatehoused closes the connection; an
 * answer that fills the buffer is refused. Returns its length, or -1. */
static ssize_t gh_recv_all(int fd, char *buf, size_t cap, const struct timespec *deadline)
{
	size_t n = 0;
	while (n < cap) {
		if (!gh_wait(fd, POLLIN, deadline))
			return -1;
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t)n;
		n += (size_t)r;
	}
	return -1;
}

/* --- reading the answer ---------------------------------------------- */

static size_t gh_skip_ws(const char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* gh_skip_string skips the JSON string that starts at p[i] (a quote). It
 * returns the index after its closing quote, or 0 when it is malformed;
 * *plain says whether it had no escapes (only plain strings are compared). */
static size_t gh_skip_string(const char *p, size_t n, size_t i, int *plain)
{
	*plain = 1;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			*plain = 0;
			i++; /* the escaped character; \uXXXX's digits are plain */
		}
	}
	return 0;
}

/* gh_parse_verdict reads the one field the plugin needs from the JSON
 * object gatehoused answers (localapi.AuthorizeResult): "verdict". The
 * object must be flat (AuthorizeResult has strings and numbers only; a
 * nested value is unexpected and refused), "verdict" must appear once as
 * a plain string, and nothing may follow the object but white space. */
static enum gh_verdict gh_parse_verdict(const char *p, size_t n)
{
	enum gh_verdict v = GH_ERROR;
	size_t i = gh_skip_ws(p, n, 0);
	if (i >= n || p[i] != '{')
		return GH_ERROR;
	i = gh_skip_ws(p, n, i + 1);
	if (i < n && p[i] == '}')
		return GH_ERROR; /* an empty object has no verdict */
	for (;;) {
		int plain;
		if (i >= n || p[i] != '"')
			return GH_ERROR;
		size_t key = i + 1, end = gh_skip_string(p, n, i, &plain);
		if (end == 0)
			return GH_ERROR;
		int is_verdict = plain && end - key - 1 == 7 && memcmp(p + key, "verdict", 7) == 0;
		i = gh_skip_ws(p, n, end);
		if (i >= n || p[i] != ':')
			return GH_ERROR;
		i = gh_skip_ws(p, n, i + 1);
		if (i >= n)
			return GH_ERROR;
		if (p[i] == '"') {
			size_t val = i + 1;
			end = gh_skip_string(p, n, i, &plain);
			if (end == 0)
				return GH_ERROR;
			if (is_verdict) {
				size_t len = end - val - 1;
				if (v != GH_ERROR || !plain)
					return GH_ERROR; /* a second verdict, or an escaped one */
				if (len == 3 && memcmp(p + val, "yes", 3) == 0)
					v = GH_YES;
				else if (len == 2 && memcmp(p + val, "no", 2) == 0)
					v = GH_NO;
				else if (len == 11 && memcmp(p + val, "not_handled", 11) == 0)
					v = GH_NOT_HANDLED;
				else
					return GH_ERROR;
			}
			i = end;
		} else {
			/* A number, true, false or null: not interpreted, only skipped. */
			size_t start = i;
			while (i < n && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') || p[i] == '-' ||
					 p[i] == '+' || p[i] == '.' || p[i] == 'E'))
				i++;
			if (i == start || is_verdict)
				return GH_ERROR;
		}
		i = gh_skip_ws(p, n, i);
		if (i >= n)
			return GH_ERROR;
		if (p[i] == '}')
			break;
		if (p[i] != ',')
			return GH_ERROR;
		i = gh_skip_ws(p, n, i + 1);
	}
	return gh_skip_ws(p, n, i + 1) == n ? v : GH_ERROR;
}

static int gh_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* gh_header_is says whether the header line [p, p+n) is named name (given
 * in lower case, with its colon). */
static int gh_header_is(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (gh_lower((unsigned char)p[i]) != name[i])
			return 0;
	return 1;
}

/* gh_parse_answer reads gatehoused's HTTP answer: status 200, no transfer
 * coding (the request is HTTP/1.0, so Go's server sends the body as it is
 * and closes), a Content-Length, when given, that matches, and the JSON
 * body. */
static enum gh_verdict gh_parse_answer(const char *buf, size_t n)
{
	if (n < 13 || (memcmp(buf, "HTTP/1.0 200 ", 13) != 0 && memcmp(buf, "HTTP/1.1 200 ", 13) != 0))
		return GH_ERROR;
	size_t line = 0, body = 0;
	long long length = -1;
	for (size_t i = 0; i + 1 < n; i++) {
		if (buf[i] != '\r' || buf[i + 1] != '\n')
			continue;
		if (i == line && line > 0) { /* the empty line: headers end */
			body = i + 2;
			break;
		}
		const char *h = buf + line;
		size_t hn = i - line;
		if (gh_header_is(h, hn, "transfer-encoding:"))
			return GH_ERROR;
		if (gh_header_is(h, hn, "content-length:")) {
			size_t j = 15;
			while (j < hn && h[j] == ' ')
				j++;
			if (j == hn || length >= 0)
				return GH_ERROR;
			for (length = 0; j < hn; j++) {
				if (h[j] < '0' || h[j] > '9' || length > GH_ANSWER_MAX)
					return GH_ERROR;
				length = length * 10 + (h[j] - '0');
			}
		}
		line = i + 2;
		i++;
	}
	if (body == 0 || (length >= 0 && (size_t)length != n - body))
		return GH_ERROR;
	return gh_parse_verdict(buf + body, n - body);
}

/* gh_ask asks gatehoused at path about right for the process pid of uid. */
static enum gh_verdict gh_ask(const char *path, const char *right, int32_t pid, uint32_t uid)
{
	struct timespec deadline;
	if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0)
		return GH_ERROR;
	deadline.tv_sec += GH_BUDGET_MS / 1000;
	deadline.tv_nsec += (long)(GH_BUDGET_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	char body[GH_RIGHT_MAX + 64];
	int bn = snprintf(body, sizeof body, "{\"right\":\"%s\",\"pid\":%ld,\"uid\":%lu}", right, (long)pid,
			  (unsigned long)uid);
	if (bn < 0 || (size_t)bn >= sizeof body)
		return GH_ERROR;
	/* HTTP/1.0 on purpose: Go's server then sends the body as it is (it
	 * chunks HTTP/1.1 answers longer than 2 KiB) and closes the connection
	 * after it, so the answer ends where the stream does. */
	char req[GH_REQUEST_MAX];
	int rn = snprintf(req, sizeof req,
			  "POST /v1/authorize HTTP/1.0\r\nHost: gatehoused\r\nUser-Agent: gatehouse-authplugin\r\n"
			  "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			  bn, body);
	if (rn < 0 || (size_t)rn >= sizeof req)
		return GH_ERROR;

	int fd = gh_connect(path, &deadline);
	if (fd < 0)
		return GH_ERROR;
	char answer[GH_ANSWER_MAX];
	ssize_t an = -1;
	if (gh_send_all(fd, req, (size_t)rn, &deadline))
		an = gh_recv_all(fd, answer, sizeof answer, &deadline);
	close(fd);
	return an < 0 ? GH_ERROR : gh_parse_answer(answer, (size_t)an);
}

/* --- the plugin interface (AuthorizationPlugin.h) -------------------- */

static OSStatus gh_mechanism_invoke(AuthorizationMechanismRef ref)
{
	struct gh_mechanism *m = ref;
	char right[GH_RIGHT_MAX + 1];
	int32_t pid = 0;
	uint32_t uid = 0;
	enum gh_verdict v = GH_ERROR;
	if (!gh_hint_right(m->engine, right)) {
		gh_log(LOG_WARNING, "no usable right in the hints; left to the right's own rules", NULL, NULL);
	} else if (!gh_hint_subject(m->engine, &pid, &uid)) {
		gh_log(LOG_WARNING, "no subject process in the hints; left to the right's own rules", right, NULL);
	} else {
		v = gh_ask(gh_socket_path, right, pid, uid);
		if (v == GH_ERROR)
			gh_log(LOG_NOTICE, "gatehoused gave no usable answer about", right,
			       "left to the right's own rules (is gatehoused running?)");
	}
	AuthorizationResult result;
	switch (v) {
	case GH_YES:
		result = kAuthorizationResultAllow;
		break;
	case GH_NO:
		result = kAuthorizationResultUserCanceled;
		break;
	default: /* GH_NOT_HANDLED, GH_ERROR: the original definition decides */
		result = kAuthorizationResultDeny;
		break;
	}
	return gh_engine_callbacks->SetResult(m->engine, result);
}

static OSStatus gh_mechanism_create(AuthorizationPluginRef plugin, AuthorizationEngineRef engine,
				    AuthorizationMechanismId id, AuthorizationMechanismRef *out)
{
	(void)plugin;
	if (out == NULL || id == NULL || strcmp(id, "decide") != 0)
		return errAuthorizationInternal;
	struct gh_mechanism *m = calloc(1, sizeof *m);
	if (m == NULL)
		return errAuthorizationInternal;
	m->engine = engine;
	*out = m;
	return errAuthorizationSuccess;
}

/* The mechanism does all its work inside MechanismInvoke; there is nothing
 * to stop, so deactivation is acknowledged at once. */
static OSStatus gh_mechanism_deactivate(AuthorizationMechanismRef ref)
{
	struct gh_mechanism *m = ref;
	return gh_engine_callbacks->DidDeactivate(m->engine);
}

static OSStatus gh_mechanism_destroy(AuthorizationMechanismRef ref)
{
	free(ref);
	return errAuthorizationSuccess;
}

static OSStatus gh_plugin_destroy(AuthorizationPluginRef plugin)
{
	(void)plugin;
	return errAuthorizationSuccess;
}

static const AuthorizationPluginInterface gh_interface = {
	.version = kAuthorizationPluginInterfaceVersion,
	.PluginDestroy = gh_plugin_destroy,
	.MechanismCreate = gh_mechanism_create,
	.MechanismInvoke = gh_mechanism_invoke,
	.MechanismDeactivate = gh_mechanism_deactivate,
	.MechanismDestroy = gh_mechanism_destroy,
};

/* The host creates one plugin instance; its reference only needs to be
 * non-NULL, so it points at the callbacks' holder. */
__attribute__((visibility("default"))) OSStatus
AuthorizationPluginCreate(const AuthorizationCallbacks *callbacks, AuthorizationPluginRef *outPlugin,
			  const AuthorizationPluginInterface **outPluginInterface)
{
	/* SetResult, DidDeactivate and GetHintValue are in every version of
	 * the callbacks (version 0 on). */
	if (callbacks == NULL || outPlugin == NULL || outPluginInterface == NULL)
		return errAuthorizationInternal;
	gh_engine_callbacks = callbacks;
	*outPlugin = (AuthorizationPluginRef)&gh_engine_callbacks;
	*outPluginInterface = &gh_interface;
	return errAuthorizationSuccess;
}
