/*
 * shimharness.c: runs the authorization plugin's mechanism
 * (build/darwin/authplugin/GatehouseAuth.c) on Linux, for shim_test.go.
 *
 * It stands in for authd and authorizationhost: it loads the plugin through
 * AuthorizationPluginCreate with callbacks of its own (the hints the test
 * gives, SetResult recorded), creates the mechanism "decide", invokes it
 * once against the socket the test serves, and prints the result.
 *
 *   shimharness SOCKET RIGHT token PID EUID   creator-audit-token hint
 *   shimharness SOCKET RIGHT client PID UID   client-pid and client-uid hints
 *   shimharness SOCKET RIGHT none             no subject hints
 *   (RIGHT "-" gives no authorize-right hint)
 *
 * Output: one of allow, deny, undefined, canceled (the AuthorizationResult
 * the mechanism set), or "error: ..." and exit status 1.
 */
#include "GatehouseAuth.c"

/* audit_token_to_* as OpenBSM's audit_token_to_au32 reads the token:
 * val[1] the effective uid, val[5] the pid. (On a Mac, libbsm.) */
pid_t audit_token_to_pid(audit_token_t atoken)
{
	return (pid_t)atoken.val[5];
}

uid_t audit_token_to_euid(audit_token_t atoken)
{
	return (uid_t)atoken.val[1];
}

struct hint {
	const char *name;
	AuthorizationValue value;
};

static struct hint hints[4];
static int nhints;
static int results, deactivated;
static AuthorizationResult result;

static OSStatus fake_get_hint(AuthorizationEngineRef engine, AuthorizationString key, const AuthorizationValue **out)
{
	(void)engine;
	for (int i = 0; i < nhints; i++) {
		if (strcmp(hints[i].name, key) == 0) {
			*out = &hints[i].value;
			return errAuthorizationSuccess;
		}
	}
	*out = NULL;
	return errAuthorizationInternal;
}

static OSStatus fake_set_result(AuthorizationEngineRef engine, AuthorizationResult r)
{
	(void)engine;
	results++;
	result = r;
	return errAuthorizationSuccess;
}

static OSStatus fake_did_deactivate(AuthorizationEngineRef engine)
{
	(void)engine;
	deactivated++;
	return errAuthorizationSuccess;
}

static void add_hint(const char *name, void *data, size_t length)
{
	hints[nhints].name = name;
	hints[nhints].value.data = data;
	hints[nhints].value.length = length;
	nhints++;
}

static int fail(const char *why)
{
	printf("error: %s\n", why);
	return 1;
}

int main(int argc, char **argv)
{
	static audit_token_t token;
	static int32_t pid;
	static uint32_t uid;

	if (argc < 4)
		return fail("usage: shimharness SOCKET RIGHT token|client|none [PID UID]");
	gh_socket_path = argv[1];
	if (strcmp(argv[2], "-") != 0)
		add_hint(GH_HINT_RIGHT, argv[2], strlen(argv[2])); /* as authd: no NUL */
	if (strcmp(argv[3], "token") == 0 || strcmp(argv[3], "client") == 0) {
		if (argc != 6)
			return fail("want PID and UID");
		pid = (int32_t)strtol(argv[4], NULL, 10);
		uid = (uint32_t)strtoul(argv[5], NULL, 10);
		if (strcmp(argv[3], "token") == 0) {
			token.val[1] = uid;
			token.val[3] = uid;
			token.val[5] = (unsigned int)pid;
			add_hint(GH_HINT_CREATOR_TOKEN, &token, sizeof token);
		} else {
			add_hint(GH_HINT_CLIENT_PID, &pid, sizeof pid);
			add_hint(GH_HINT_CLIENT_UID, &uid, sizeof uid);
		}
	}

	static AuthorizationCallbacks callbacks;
	callbacks.version = kAuthorizationCallbacksVersion;
	callbacks.SetResult = fake_set_result;
	callbacks.DidDeactivate = fake_did_deactivate;
	callbacks.GetHintValue = fake_get_hint;

	AuthorizationPluginRef plugin = NULL;
	const AuthorizationPluginInterface *iface = NULL;
	if (AuthorizationPluginCreate(&callbacks, &plugin, &iface) != errAuthorizationSuccess || plugin == NULL ||
	    iface == NULL || iface->version != kAuthorizationPluginInterfaceVersion)
		return fail("AuthorizationPluginCreate");

	AuthorizationEngineRef engine = (AuthorizationEngineRef)&callbacks; /* any non-NULL handle */
	AuthorizationMechanismRef mech = NULL;
	if (iface->MechanismCreate(plugin, engine, "authenticate", &mech) == errAuthorizationSuccess)
		return fail("MechanismCreate accepted a mechanism it does not have");
	if (iface->MechanismCreate(plugin, engine, "decide", &mech) != errAuthorizationSuccess || mech == NULL)
		return fail("MechanismCreate decide");
	if (iface->MechanismInvoke(mech) != errAuthorizationSuccess)
		return fail("MechanismInvoke");
	if (iface->MechanismDeactivate(mech) != errAuthorizationSuccess || deactivated != 1)
		return fail("MechanismDeactivate did not acknowledge");
	if (iface->MechanismDestroy(mech) != errAuthorizationSuccess || iface->PluginDestroy(plugin) != errAuthorizationSuccess)
		return fail("destroy");
	if (results != 1)
		return fail("SetResult not called exactly once");

	static const char *names[] = {"allow", "deny", "undefined", "canceled"};
	if (result > kAuthorizationResultUserCanceled)
		return fail("unknown result");
	printf("%s\n", names[result]);
	return 0;
}
