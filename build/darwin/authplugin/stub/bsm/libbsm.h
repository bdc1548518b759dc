/*
 * STAND-IN for Apple's <bsm/libbsm.h> (OpenBSM) and the audit_token_t of
 * <mach/message.h>, for a syntax check of GatehouseAuth.c on Linux only
 * (see ../README.md). Not Apple's file; never used on a Mac.
 */
#ifndef GATEHOUSE_STUB_LIBBSM_H
#define GATEHOUSE_STUB_LIBBSM_H

#include <sys/types.h>

/* <mach/message.h> */
typedef struct {
	unsigned int val[8];
} audit_token_t;

/* <bsm/libbsm.h> */
pid_t audit_token_to_pid(audit_token_t atoken);
uid_t audit_token_to_euid(audit_token_t atoken);

#endif
