// Display names: the same rules as the server's (src/auth.c, auth_check_name), so that the join
// page can answer at once. The server stays authoritative: its name_* error codes are what the
// room shows when they disagree. No DOM here (the unit tests import this module in node).

export const NAME_MAX_CHARS = 32;

// Sentences for the server's name error codes and the full_name warning (PROTOCOL.md 3.1, 4.1).
export const NAME_MESSAGES = Object.freeze({
  name_empty: 'Please enter a name. A first name or a nickname is enough.',
  name_too_long: `That name is too long. Please use at most ${NAME_MAX_CHARS} characters.`,
  name_invalid_chars:
    'That name contains characters that cannot be shown, such as line breaks or invisible ' +
    'characters. Please use ordinary letters, digits and punctuation.',
  name_reserved:
    'That name could be mistaken for a role (such as chair or host) or for Haven itself. ' +
    'Please choose another name.',
  full_name:
    'This looks like a full name. Meetings are anonymous: a first name or a nickname is ' +
    'enough. You can change it, or keep it if it is not your real name.',
});

// ASCII white space as C's isspace() sees it: space, tab, LF, VT, FF, CR.
const SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

// Control, format and other invisible characters (auth.c, invisible()).
export function isInvisible(c) {
  return (
    c < 0x20 ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0xad || c === 0x34f || c === 0x61c || c === 0x115f || c === 0x1160 ||
    c === 0x17b4 || c === 0x17b5 || c === 0x180e ||
    (c >= 0x200b && c <= 0x200f) ||
    (c >= 0x2028 && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x206f) ||
    c === 0x3164 || c === 0xfeff || c === 0xffa0 ||
    (c >= 0xfff0 && c <= 0xfffb) ||
    (c >= 0xe0000 && c <= 0xe007f) ||
    (c >= 0xd800 && c <= 0xdfff)
  );
}

const ASCII_FOLD = {
  0: 'o', 1: 'i', '!': 'i', '|': 'i', l: 'i', 3: 'e', 4: 'a', '@': 'a',
  5: 's', $: 's', 7: 't', '+': 't', 8: 'b', 9: 'g',
};

// Cyrillic and Greek look-alikes of Latin letters (auth.c, fold()).
const LOOKALIKES = new Map([
  [0x430, 'a'], [0x410, 'a'], [0x3b1, 'a'], [0x391, 'a'],
  [0x435, 'e'], [0x415, 'e'], [0x3b5, 'e'], [0x395, 'e'],
  [0x43e, 'o'], [0x41e, 'o'], [0x3bf, 'o'], [0x39f, 'o'],
  [0x440, 'p'], [0x420, 'p'], [0x3c1, 'p'], [0x3a1, 'p'],
  [0x441, 'c'], [0x421, 'c'],
  [0x445, 'x'], [0x425, 'x'], [0x3c7, 'x'], [0x3a7, 'x'],
  [0x456, 'i'], [0x406, 'i'], [0x3b9, 'i'], [0x399, 'i'],
  [0x43d, 'h'], [0x41d, 'h'], [0x397, 'h'],
  [0x43c, 'm'], [0x41c, 'm'], [0x39c, 'm'],
  [0x432, 'b'], [0x412, 'b'], [0x392, 'b'],
  [0x442, 't'], [0x422, 't'], [0x3a4, 't'],
  [0x455, 's'], [0x405, 's'],
  [0x3bd, 'n'], [0x39d, 'n'],
  [0x3c5, 'y'], [0x3a5, 'y'], [0x443, 'y'], [0x423, 'y'],
]);

// The ASCII letter a character can pass for; ' ' separates words (and drops the character).
export function fold(c) {
  if (c < 0x80) {
    const a = String.fromCharCode(c).toLowerCase();
    if (Object.prototype.hasOwnProperty.call(ASCII_FOLD, a)) return ASCII_FOLD[a];
    return /[a-z0-9]/.test(a) ? a : ' ';
  }
  return LOOKALIKES.get(c) || ' ';
}

const RESERVED = [
  'chair', 'cochair', 'host', 'cohost', 'admin', 'administrator', 'haven', 'system',
  'moderator', 'mod', 'secretary', 'greeter', 'server', 'staff', 'official',
].map((w) => [...w].map((ch) => fold(ch.codePointAt(0))).join(''));

function isReservedWord(w) {
  return w.length > 0 && RESERVED.includes(w);
}

// Whether the name could pass for a role or the system: the whole name with separators squashed
// out ("C.H.A.I.R", "Co-Chair"), or any one word of it ("Sam the host").
export function impersonates(name) {
  const folded = [...name].map((ch) => fold(ch.codePointAt(0))).join('');
  if (isReservedWord(folded.replaceAll(' ', ''))) return true;
  return folded.split(' ').some(isReservedWord);
}

function capitalisedWord(w) {
  return w.length >= 2 && /^[A-Z][a-z'-]+$/.test(w);
}

// "Samantha Rivera": two capitalised words. Accepted, with a gentle warning.
export function looksLikeFullName(name) {
  const parts = name.split(' ');
  return parts.length === 2 && capitalisedWord(parts[0]) && capitalisedWord(parts[1]);
}

export function trimName(raw) {
  const cps = [...String(raw)];
  let start = 0;
  let end = cps.length;
  while (start < end && SPACE.has(cps[start].codePointAt(0))) start++;
  while (end > start && SPACE.has(cps[end - 1].codePointAt(0))) end--;
  return cps.slice(start, end).join('');
}

// Check a name as the server does. Returns {name, code, fullName}: name is the trimmed name to
// send, code null or one of the name_* codes, fullName whether to ask gently about it.
export function checkName(raw) {
  const name = trimName(raw);
  if (name.length === 0) return { name, code: 'name_empty', fullName: false };
  let chars = 0;
  for (const ch of name) {
    if (isInvisible(ch.codePointAt(0))) return { name, code: 'name_invalid_chars', fullName: false };
    chars++;
  }
  if (chars > NAME_MAX_CHARS) return { name, code: 'name_too_long', fullName: false };
  if (impersonates(name)) return { name, code: 'name_reserved', fullName: false };
  return { name, code: null, fullName: looksLikeFullName(name) };
}
