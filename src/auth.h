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


/* Password rules: 10 to 1024 bytes, not one of the most common passwords and
 * not the user name.  Returns NULL when acceptable, or why not. */
const char *auth_password_problem(const char *password, const char *username);

/* argon2id through libsodium (crypto_pwhash_str).  Parameters follow OWASP's
 * Password Storage Cheat Sheet minimum for argon2id: 19 MiB of memory, two
 * iterations, one lane.  Slow on purpose: call these off the loop thread.
 * auth_hash_password returns 0 or HV_EIO; out holds crypto_pwhash_STRBYTES. */
int auth_hash_password(const char *password, char *out);
bool auth_verify_password(const char *hash, const char *password);
#endif
