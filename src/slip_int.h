/*
 * slip_int: what the parts of the slip module share (slip.c on the loop,
 * slip_cli.c on the command line, slip_doc.c with the pure parts and the key
 * file).  Not for other modules.
 *
 * A slip is one JSON object (proto/schema/api/slip.json).  Its signature
 * member is an Ed25519 signature (libsodium crypto_sign_detached) over the
 * canonical form of the object without that member: RFC 8785 (JSON
 * Canonicalization Scheme) as far as slips need it: keys sorted by their
 * code units, no whitespace, strings as UTF-8 with only '"', '\\' and control
 * characters escaped (\b \f \n \r \t, else \u00xx), integers in decimal.
 * Slips hold no fractions, so JCS's number rules reduce to that.
 */
#ifndef HAVEN_SLIP_INT_H
#define HAVEN_SLIP_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SLIP_TYPE "haven-attendance-slip"
#define SLIP_VERSION 1
#define SLIP_ID_HEX 33      /* 128 random bits as 32 hex digits + NUL */
#define SLIP_KEY_ID_HEX 17  /* first 8 bytes of SHA-256(public key) + NUL */
#define SLIP_DOC_MAX 16384  /* larger input is not a slip */

struct slip__key {
    unsigned char sk[64]; /* crypto_sign_SECRETKEYBYTES; zero when only public */
    unsigned char pk[32]; /* crypto_sign_PUBLICKEYBYTES */
    bool has_secret;
    char id[SLIP_KEY_ID_HEX];
};

/* Read the signing key file at path (64 hex digits: the Ed25519 seed).  With
 * create, a missing file is made (and a missing last directory, mode 0700)
 * with mode 0600 and a new random seed, and *created is set.  A file that
 * group or others may read is refused.  Blocking: startup and the command
 * line only.  Returns 0, or HV_EINVAL/HV_EIO with err filled (never the key). */
int slip__key_file(const char *path, bool create, struct slip__key *k, bool *created, char *err,
                   size_t errlen);
/* A public key as GET /.well-known/haven-attendance-key gives it (JSON with
 * public_key in base64), or the server's key file (64 hex digits).  Pure. */
int slip__key_parse(const char *text, size_t len, struct slip__key *k, char *err, size_t errlen);
/* {"algorithm": "Ed25519", "public_key": base64, "key_id": hex} (new reference). */
json_t *slip__key_json(const struct slip__key *k);

/* The canonical form of doc without its "signature" member (new string,
 * free() it), or NULL when doc holds something a slip cannot (fractions,
 * integers beyond 2^53, invalid UTF-8). */
char *slip__canonical(json_t *doc, size_t *len);
/* SHA-256 of the canonical form, as 64 hex digits; false when there is none. */
bool slip__digest(json_t *doc, char hex[65]);
/* Add "signature" to doc, signed with k (which must have its secret). */
int slip__sign(json_t *doc, const struct slip__key *k);
/* Is doc a slip of the expected shape with a valid signature by k?  Returns
 * NULL when it is, or why not: "malformed", "other_key" (key_id names another
 * key) or "bad_signature" (changed after signing, or signed by someone else). */
const char *slip__check(json_t *doc, const struct slip__key *k);
/* Is s a slip id (32 lower-case hex digits)? */
bool slip__is_id(const char *s);
/* The keys a slip id gives: where its record is found (BLAKE2b keyed with
 * the id) and the key that seals it.  The database never sees the id. */
void slip__id_keys(const char *id_hex, unsigned char lookup[32], unsigned char seal[32]);

enum slip__page { SLIP_PAGE_HOLDER, SLIP_PAGE_VERIFIED };
/* The printable HTML page of a signed slip (new string).  The stylesheet is
 * {issuer}/slip.css: no inline style or script, for the CSP. */
char *slip__html(json_t *doc, enum slip__page kind);

#endif
