#include "auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define NAME_MAX_CHARS 32

int auth_init(void)
{
    return sodium_init() < 0 ? HV_EIO : 0;
}

/* Decode one UTF-8 sequence (already validated by jansson). */
static uint32_t next_cp(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int n = 1;
    if (c >= 0xF0) {
        c = ((c & 0x07) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
        n = 4;
    } else if (c >= 0xE0) {
        c = ((c & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        n = 3;
    } else if (c >= 0xC0) {
        c = ((c & 0x1F) << 6) | (s[1] & 0x3Fu);
        n = 2;
    }
    *p = s + n;
    return c;
}

/* Control, format and other invisible characters: they can hide a name's
 * real shape or break other people's screens. */
static bool invisible(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD || c == 0x34F || c == 0x61C ||
           c == 0x115F || c == 0x1160 || c == 0x17B4 || c == 0x17B5 || c == 0x180E ||
           (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x206F) || c == 0x3164 || c == 0xFEFF || c == 0xFFA0 ||
           (c >= 0xFFF0 && c <= 0xFFFB) || (c >= 0xE0000 && c <= 0xE007F) ||
           (c >= 0xD800 && c <= 0xDFFF);
}

/* Fold a character to the ASCII letter it can pass for; 0 drops it. */
static char fold(uint32_t c)
{
    if (c < 0x80) {
        char a = (char)tolower((int)c);
        switch (a) {
        case '0':
            return 'o';
        case '1':
        case '!':
        case '|':
        case 'l':
            return 'i';
        case '3':
            return 'e';
        case '4':
        case '@':
            return 'a';
        case '5':
        case '$':
            return 's';
        case '7':
        case '+':
            return 't';
        case '8':
            return 'b';
        case '9':
            return 'g';
        default:
            return isalnum((unsigned char)a) ? a : ' ';
        }
    }
    /* Common Cyrillic and Greek look-alikes of Latin letters. */
    switch (c) {
    case 0x430: case 0x410: case 0x3B1: case 0x391: return 'a';
    case 0x435: case 0x415: case 0x3B5: case 0x395: return 'e';
    case 0x43E: case 0x41E: case 0x3BF: case 0x39F: return 'o';
    case 0x440: case 0x420: case 0x3C1: case 0x3A1: return 'p';
    case 0x441: case 0x421: return 'c';
    case 0x445: case 0x425: case 0x3C7: case 0x3A7: return 'x';
    case 0x456: case 0x406: case 0x3B9: case 0x399: return 'i';
    case 0x43D: case 0x41D: case 0x397: return 'h';
    case 0x43C: case 0x41C: case 0x39C: return 'm';
    case 0x432: case 0x412: case 0x392: return 'b';
    case 0x442: case 0x422: case 0x3A4: return 't';
    case 0x455: case 0x405: return 's';
    case 0x3BD: case 0x39D: return 'n';
    case 0x3C5: case 0x3A5: case 0x443: case 0x423: return 'y';
    default:
        return ' ';
    }
}

/* Compared after folding, so "Ch4ir", "C.H.A.I.R", "Adm1n" and a Cyrillic
 * "Сhair" all match. */
static const char *const reserved[] = {
    "chair", "cochair", "host", "cohost", "admin", "administrator", "haven", "system",
    "moderator", "mod", "secretary", "greeter", "server", "staff", "official",
};

static char fold(uint32_t c);

static bool is_reserved_word(const char *w, size_t n)
{
    for (size_t i = 0; i < HV_ARRAY_LEN(reserved); i++) {
        const char *r = reserved[i];
        size_t j = 0;
        /* Fold the reserved word the same way as the name ("official"). */
        while (j < n && r[j] && fold((unsigned char)r[j]) == w[j])
            j++;
        if (j == n && !r[j])
            return true;
    }
    return false;
}

static bool impersonates(const char *name)
{
    char words[4 * NAME_MAX_CHARS + 1], squashed[4 * NAME_MAX_CHARS + 1];
    size_t nw = 0, ns = 0;
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        uint32_t c = next_cp(&p);
        char f = fold(c);
        words[nw++] = f;
        if (f != ' ')
            squashed[ns++] = f;
    }
    words[nw] = squashed[ns] = '\0';
    /* The whole name squashed ("c h a i r", "Co-Chair"), or any one word. */
    if (is_reserved_word(squashed, ns))
        return true;
    for (size_t i = 0; i < nw;) {
        while (i < nw && words[i] == ' ')
            i++;
        size_t start = i;
        while (i < nw && words[i] != ' ')
            i++;
        if (i > start && is_reserved_word(words + start, i - start))
            return true;
    }
    return false;
}

static bool capitalised_word(const char *s, size_t n)
{
    if (n < 2 || !isupper((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)s[i]) && s[i] != '\'' && s[i] != '-')
            return false;
    return true;
}

static bool looks_like_full_name(const char *name)
{
    const char *sp = strchr(name, ' ');
    if (!sp || strchr(sp + 1, ' '))
        return false;
    return capitalised_word(name, (size_t)(sp - name)) && capitalised_word(sp + 1, strlen(sp + 1));
}

int auth_check_name(const char *name, char *out, size_t outlen, bool *full_name,
                    const char **code)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t len = strlen(name), chars = 0;

    *full_name = false;
    while (len && isspace((unsigned char)name[0])) {
        name++;
        len--;
    }
    while (len && isspace((unsigned char)name[len - 1]))
        len--;
    if (len == 0) {
        *code = "name_empty";
        return HV_EINVAL;
    }
    p = (const unsigned char *)name;
    while (p < (const unsigned char *)name + len) {
        uint32_t c = next_cp(&p);
        if (invisible(c) || c == '\t' || c == '\n') {
            *code = "name_invalid_chars";
            return HV_EINVAL;
        }
        chars++;
    }
    if (chars > NAME_MAX_CHARS || len + 1 > outlen) {
        *code = "name_too_long";
        return HV_EINVAL;
    }
    memcpy(out, name, len);
    out[len] = '\0';
    if (impersonates(out)) {
        *code = "name_reserved";
        return HV_EINVAL;
    }
    *full_name = looks_like_full_name(out);
    return 0;
}

void auth_new_token(char token[AUTH_TOKEN_HEX], char attendee_id[AUTH_ID_HEX])
{
    unsigned char raw[32], id[16];
    randombytes_buf(raw, sizeof(raw));
    randombytes_buf(id, sizeof(id));
    util_hex(token, raw, sizeof(raw));
    util_hex(attendee_id, id, sizeof(id));
    sodium_memzero(raw, sizeof(raw));
}

void auth_token_hash(const char *token_hex, char hash_hex[AUTH_HASH_HEX])
{
    unsigned char hash[32];
    /* Tokens are 256 random bits: a fast keyed-free hash is enough, no
     * password hashing needed to resist guessing. */
    crypto_generichash(hash, sizeof(hash), (const unsigned char *)token_hex, 64, NULL, 0);
    util_hex(hash_hex, hash, sizeof(hash));
}

#define PWHASH_OPS 2
#define PWHASH_MEM (19u * 1024u * 1024u)

/* The most common passwords of ten characters or more in public breach
 * corpora; the length rule already excludes the shorter ones. */
static const char *const common_passwords[] = {
    "1234567890", "0123456789", "12345678910", "123456789a", "1234567890a", "qwertyuiop",
    "password123", "password12", "password1234", "passw0rd123", "iloveyou12", "qwerty123456",
    "1q2w3e4r5t", "1qaz2wsx3edc", "qwertyuiop123", "asdfghjkl1", "zxcvbnm123", "abc1234567",
    "abcdefghij", "aaaaaaaaaa", "1111111111", "0000000000", "9876543210", "11111111111",
    "1234512345", "1234554321", "letmein123", "welcome123", "welcome1234", "football123",
    "baseball123", "sunshine123", "princess123", "superman123", "trustno1234", "monkey12345",
    "dragon12345", "changeme123", "administrator", "adminadmin", "admin12345", "admin123456",
    "passwordpassword", "qwertyqwerty", "iloveyou123", "starwars123", "whatever123",
    "recovery123", "serenity123", "onedayatatime", "higherpower", "letmein1234",
};

const char *auth_password_problem(const char *password, const char *username)
{
    size_t n = strlen(password);
    if (n < 10)
        return "the password must have at least 10 characters";
    if (n > 1024)
        return "the password is longer than 1024 characters";
    for (size_t i = 0; i < HV_ARRAY_LEN(common_passwords); i++)
        if (strcasecmp(password, common_passwords[i]) == 0)
            return "this password is among the most common ones; choose another";
    if (username && strcasecmp(password, username) == 0)
        return "the password must not be the user name";
    return NULL;
}

int auth_hash_password(const char *password, char *out)
{
    if (crypto_pwhash_str(out, password, strlen(password), PWHASH_OPS, PWHASH_MEM) != 0)
        return HV_EIO;
    return 0;
}

bool auth_verify_password(const char *hash, const char *password)
{
    /* crypto_pwhash_str_verify compares in constant time. */
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
