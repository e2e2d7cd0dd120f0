/*
 * auth: display names and attendee tokens.
 *
 * An attendee needs no account: a display name (checked here) and a bearer
 * token of 256 random bits from libsodium, of which the server keeps only a
 * BLAKE2b hash.  Loop thread; nothing here blocks.
 */
#ifndef HAVEN_AUTH_H
#define HAVEN_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_TOKEN_HEX 65   /* 64 hex digits + NUL */
#define AUTH_HASH_HEX 65
#define AUTH_ID_HEX 33

int auth_init(void);

/* Check a display name.  On success returns 0, writes the trimmed name into
 * out (outlen >= 4 * 32 + 1) and sets *full_name when it looks like a first
 * and last name.  Otherwise returns HV_EINVAL and sets *code to one of
 * name_empty, name_too_long, name_invalid_chars, name_reserved. */
int auth_check_name(const char *name, char *out, size_t outlen, bool *full_name,
                    const char **code);

/* A new random token and attendee id, as lower-case hex. */
void auth_new_token(char token[AUTH_TOKEN_HEX], char attendee_id[AUTH_ID_HEX]);
/* Hash of a token given as 64 hex digits, as hex. */
void auth_token_hash(const char *token_hex, char hash_hex[AUTH_HASH_HEX]);

#endif
