// Sentences for the events that run a session (PROTOCOL.md 5), and the share timer's words.
// Plain strings only: the page puts them in as text. No DOM here.

const SETTING_WORDS = {
  auto_admit: ['let arrivals in at once', 'send arrivals to the waiting room'],
  locked: ['locked the meeting to new arrivals', 'unlocked the meeting'],
  hide_members: ['hid the member list', 'showed the member list'],
  crosstalk: ['allowed crosstalk', 'asked for no crosstalk during shares'],
  chat_locked: ['paused the chat', 'reopened the chat'],
  dms: ['allowed direct messages', 'switched direct messages off'],
  visitors_may_post: ['let visitors write', 'made visitors listeners only'],
  end_share_at_limit: ['made shares end at their time limit', 'let shares run past their time limit'],
  auto_call: ['made the next hand be called by itself', 'switched automatic calling off'],
};

export function durationText(secs) {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.floor(s / 60);
  const r = s % 60;
  const min = `${m} minute${m === 1 ? '' : 's'}`;
  return r ? `${min} ${r} second${r === 1 ? '' : 's'}` : min;
}

// "2:05" for a countdown.
export function clockText(secs) {
  const s = Math.max(0, Math.ceil(secs));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function settingsText(settings) {
  const parts = [];
  for (const [key, value] of Object.entries(settings || {})) {
    if (SETTING_WORDS[key]) parts.push(SETTING_WORDS[key][value ? 0 : 1]);
    else if (key === 'slow_mode_secs') parts.push(value ? `set slow mode to one message per ${durationText(value)}` : 'switched slow mode off');
    else if (key === 'share_limit_secs') parts.push(`set the share time limit to ${durationText(value)}`);
  }
  return parts.join(', ') || 'changed the settings';
}

const name = (who, fallback = 'Someone') => (who && typeof who.name === 'string' ? who.name : fallback);

// One sentence for an event that is not a message or a reaction, or null to show nothing.
// Readings and votes get their details drawn by the page besides this line.
export function describe(ev) {
  const from = name(ev.from, 'A chair');
  const target = name(ev.target);
  switch (ev.kind) {
    case 'chair_taken': return `${target} took the chair.`;
    case 'session_started': return `${from} opened the meeting.`;
    case 'session_ended': return ev.reason === 'auto' || !ev.from ? 'The meeting ended by itself, some time after its scheduled end.' : `${from} ended the meeting.`;
    case 'admitted': return `${from} let ${target} in.`;
    case 'admitted_all': return `${from} let ${ev.count} ${ev.count === 1 ? 'person' : 'people'} in.`;
    case 'sent_to_waiting': return `${from} sent ${target} to the waiting room.`;
    case 'settings_changed': return `${from} ${settingsText(ev.settings)}.`;
    case 'share_started':
      return `${target} is sharing${ev.from ? ` (called by ${from})` : ''}. Time limit: ${durationText(ev.limit_secs)}.`;
    case 'share_ended': {
      const why = { done: 'finished sharing', chair: 'finished sharing (ended by a chair)', next: 'finished sharing (the next person was called)', time: 'finished sharing: the time was up' }[ev.reason] || 'finished sharing';
      return `${target} ${why}.`;
    }
    case 'share_time_warning': return `${durationText(ev.remaining_secs)} left in ${target}'s share.`;
    case 'share_time_up': return `${target}'s time is up.`;
    case 'reading': return `Reading: ${ev.title}`;
    case 'reading_skipped': return `${from} skipped the reading “${ev.title}”.`;
    case 'topic': return ev.text ? `Topic: ${ev.text}` : `${from} cleared the topic.`;
    case 'muted': return `${from} muted ${target}.`;
    case 'unmuted': return `${from} unmuted ${target}.`;
    case 'removed': {
      const ban = { session: ' for the rest of this session', forever: ' for good' }[ev.ban] || '';
      return `${from} removed ${target}${ban}.`;
    }
    case 'message_deleted': return null; // the message itself says so
    case 'role_granted': {
      const role = { 'co-chair': 'a co-chair', greeter: 'a greeter', attendee: 'an attendee' }[ev.role] || ev.role;
      return `${from} made ${target} ${role} for this session.`;
    }
    case 'chair_handed_over': return `${from} handed the chair to ${target}.`;
    case 'vote_opened': return `${from} opened a vote: ${ev.question}`;
    case 'vote_closed': return `The vote is closed: ${ev.question}`;
    default: return null;
  }
}

// What a removed or unrecorded message shows instead of its text.
export function placeholder(ev) {
  if (ev.removed === 'chair') return '(removed by a chair)';
  if (ev.removed === 'author') return '(taken back by the author)';
  if (ev.off_record) return '(off the record)';
  return '(not recorded)';
}
