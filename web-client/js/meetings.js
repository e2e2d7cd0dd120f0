// What the pages say about a meeting: type and language names, and the plain statement of what
// is recorded and who may read it (DOMAIN.md, "Consent about records").

import { getJSON, paths } from './api.js';

// Names of common type codes, used until GET /api/meeting-types answers (or when it cannot).
const FALLBACK_TYPES = {
  O: 'Open', C: 'Closed', D: 'Discussion', SP: 'Speaker', BE: 'Newcomer', ST: 'Step Study',
  TR: 'Tradition Study', LIT: 'Literature', MED: 'Meditation', H: 'Birthday', CAN: 'Candlelight',
  XT: 'Cross Talk Permitted', POA: 'Proof of Attendance', A: 'Secular', M: 'Men', W: 'Women',
  Y: 'Young People', SEN: 'Seniors', LGBTQ: 'LGBTQ', POC: 'People of Color', DD: 'Dual Diagnosis',
  ASL: 'American Sign Language', EN: 'English', S: 'Spanish', FR: 'French', DE: 'German',
  BT: 'Basic Text', JFT: 'Just for Today', IW: 'It Works: How and Why',
  SPAD: 'A Spiritual Principle a Day', STEP: 'Step Meeting', TOP: 'Topic', QA: 'Questions and Answers',
};

const typeNames = new Map(Object.entries(FALLBACK_TYPES));
let typesLoaded = null;

export function loadTypeNames() {
  if (!typesLoaded) {
    typesLoaded = getJSON(paths.meetingTypes()).then((r) => {
      if (r.ok && r.data && Array.isArray(r.data.types)) {
        for (const t of r.data.types) {
          if (t && typeof t.code === 'string' && typeof t.name === 'string') typeNames.set(t.code, t.name);
        }
      } else {
        typesLoaded = null; // try again next time
      }
    });
  }
  return typesLoaded;
}

export function typeName(code) {
  return typeNames.get(code) || code;
}

let languageNames = null;
try {
  languageNames = new Intl.DisplayNames(['en'], { type: 'language' });
} catch {
  languageNames = null;
}

export function languageName(tag) {
  try {
    return (languageNames && languageNames.of(tag)) || tag;
  } catch {
    return tag;
  }
}

export function isClosed(meeting) {
  return !!meeting && Array.isArray(meeting.types) && meeting.types.includes('C');
}

export function isOpen(meeting) {
  return !!meeting && Array.isArray(meeting.types) && meeting.types.includes('O');
}

// The plain statement of what is recorded and who may read it, as sentences. meeting is the API
// object, or null when its settings could not be loaded.
export function recordsStatement(meeting) {
  if (!meeting || typeof meeting.record_transcripts !== 'boolean') {
    return [
      'What is kept of this meeting, and who may read it, depends on the meeting\'s own settings, ' +
        'which could not be loaded just now.',
      'If you are unsure, ask the chair before you share anything you would not want kept.',
    ];
  }
  const out = [];
  if (meeting.record_transcripts) {
    const days = Number(meeting.retention_days);
    let kept;
    if (days === 0) kept = 'and deletes it when the session ends';
    else if (days === 1) kept = 'and deletes it one day after the session';
    else if (Number.isFinite(days)) kept = `and deletes it ${days} days after the session`;
    else kept = 'for as long as its settings say';
    out.push(`This meeting keeps a written transcript of each session ${kept}.`);
    const readers = {
      chairs: 'Only the meeting\'s chairs can read the transcript.',
      attendees: 'The people who attended a session can read its transcript.',
      anyone: 'Anyone can read the transcript, including people who were not there.',
    }[meeting.transcript_readers];
    if (readers) out.push(readers);
  } else {
    out.push('This meeting does not keep transcripts.');
    out.push('While a session runs, the server holds its messages so that everyone sees the same ' +
      'conversation and people who lose their connection can catch up.');
  }
  out.push('You need no account, e-mail or phone number. Your name is the one you choose here, and ' +
    'this browser keeps a private key so that you can reconnect as the same person.');
  return out;
}
