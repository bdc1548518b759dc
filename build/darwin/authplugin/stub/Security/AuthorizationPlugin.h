/*
 * STAND-IN for Apple's <Security/AuthorizationPlugin.h> and the parts of
 * <Security/Authorization.h> and <MacTypes.h> it needs, for a syntax check
 * of GatehouseAuth.c on Linux only (see ../README.md). Names, member order
 * and values are those of Apple's published headers; this is not Apple's
 * file and is never used on a Mac.
 */
#ifndef GATEHOUSE_STUB_AUTHORIZATIONPLUGIN_H
#define GATEHOUSE_STUB_AUTHORIZATIONPLUGIN_H

#include <stddef.h>
#include <stdint.h>

/* MacTypes.h */
typedef int32_t OSStatus;
typedef uint32_t UInt32;

/* CFBase.h, CFArray.h: only as the types of callbacks the shim never calls. */
typedef const void *CFTypeRef;
typedef const struct __CFArray *CFArrayRef;

/* Authorization.h */
typedef const char *AuthorizationString;
enum {
	errAuthorizationSuccess = 0,
	errAuthorizationInternal = -60008,
};

/* AuthorizationPlugin.h */
typedef struct AuthorizationValue {
	size_t length;
	void *data;
} AuthorizationValue;

typedef struct AuthorizationValueVector {
	UInt32 count;
	AuthorizationValue *values;
} AuthorizationValueVector;

typedef UInt32 AuthorizationContextFlags;
enum {
	kAuthorizationContextFlagExtractable = (1 << 0),
	kAuthorizationContextFlagVolatile = (1 << 1),
	kAuthorizationContextFlagSticky = (1 << 2),
};

typedef const AuthorizationString AuthorizationMechanismId;
typedef const AuthorizationString AuthorizationPluginId;
typedef void *AuthorizationPluginRef;
typedef void *AuthorizationMechanismRef;
typedef struct __OpaqueAuthorizationEngine *AuthorizationEngineRef;
typedef void *AuthorizationSessionId;

typedef UInt32 AuthorizationResult;
enum {
	kAuthorizationResultAllow,
	kAuthorizationResultDeny,
	kAuthorizationResultUndefined,
	kAuthorizationResultUserCanceled,
};

enum { kAuthorizationPluginInterfaceVersion = 0 };
enum { kAuthorizationCallbacksVersion = 3 };

typedef struct AuthorizationCallbacks {
	UInt32 version;
	OSStatus (*SetResult)(AuthorizationEngineRef inEngine, AuthorizationResult inResult);
	OSStatus (*RequestInterrupt)(AuthorizationEngineRef inEngine);
	OSStatus (*DidDeactivate)(AuthorizationEngineRef inEngine);
	OSStatus (*GetContextValue)(AuthorizationEngineRef inEngine, AuthorizationString inKey,
				    AuthorizationContextFlags *outContextFlags, const AuthorizationValue **outValue);
	OSStatus (*SetContextValue)(AuthorizationEngineRef inEngine, AuthorizationString inKey,
				    AuthorizationContextFlags inContextFlags, const AuthorizationValue *inValue);
	OSStatus (*GetHintValue)(AuthorizationEngineRef inEngine, AuthorizationString inKey,
				 const AuthorizationValue **outValue);
	OSStatus (*SetHintValue)(AuthorizationEngineRef inEngine, AuthorizationString inKey,
				 const AuthorizationValue *inValue);
	OSStatus (*GetArguments)(AuthorizationEngineRef inEngine, const AuthorizationValueVector **outArguments);
	OSStatus (*GetSessionId)(AuthorizationEngineRef inEngine, AuthorizationSessionId *outSessionId);
	OSStatus (*GetImmutableHintValue)(AuthorizationEngineRef inEngine, AuthorizationString inKey,
					  const AuthorizationValue **outValue);
	OSStatus (*GetLAContext)(AuthorizationEngineRef inEngine, CFTypeRef *outValue);
	OSStatus (*GetTokenIdentities)(AuthorizationEngineRef inEngine, CFTypeRef context, CFArrayRef *outValue);
	OSStatus (*GetTKTokenWatcher)(AuthorizationEngineRef inEngine, CFTypeRef *outValue);
} AuthorizationCallbacks;

typedef struct AuthorizationPluginInterface {
	UInt32 version;
	OSStatus (*PluginDestroy)(AuthorizationPluginRef inPlugin);
	OSStatus (*MechanismCreate)(AuthorizationPluginRef inPlugin, AuthorizationEngineRef inEngine,
				    AuthorizationMechanismId mechanismId, AuthorizationMechanismRef *outMechanism);
	OSStatus (*MechanismInvoke)(AuthorizationMechanismRef inMechanism);
	OSStatus (*MechanismDeactivate)(AuthorizationMechanismRef inMechanism);
	OSStatus (*MechanismDestroy)(AuthorizationMechanismRef inMechanism);
} AuthorizationPluginInterface;

OSStatus AuthorizationPluginCreate(const AuthorizationCallbacks *callbacks, AuthorizationPluginRef *outPlugin,
				   const AuthorizationPluginInterface **outPluginInterface);

#endif
