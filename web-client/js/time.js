// Times and weekly schedules across time zones, with nothing but Intl. No DOM here.
//
// A meeting meets every week on `days` (0 = Sunday ... 6 = Saturday) at `start_time` local to
// its `time_zone` (proto/API.md). The directory lists the coming occurrences in the viewer's own
// zone, so these helpers turn a local date and time of one zone into an instant and back.

const DAY = 86400000;
const partsFormatters = new Map();

function partsFormatter(zone) {
  let f = partsFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    partsFormatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

// The wall-clock fields of an instant in a zone: {year, month (1-12), day, hour, minute,
// second, weekday (0 = Sunday)}.
export function zonedParts(ms, zone) {
  const out = {};
  for (const p of partsFormatter(zone).formatToParts(new Date(ms))) {
    if (p.type === 'weekday') out.weekday = WEEKDAYS[p.value];
    else if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  if (out.hour === 24) out.hour = 0;
  return out;
}

// The zone's offset from UTC at an instant, in milliseconds (positive east of Greenwich).
export function zoneOffset(ms, zone) {
  const p = zonedParts(ms, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

// The instant of a local date and time in a zone. A time that happens twice (clocks go back)
// is the first one; a time that does not exist (clocks go forward) is read with the offset from
// before the gap, so 02:30 on the night clocks jump from 02:00 to 03:00 is 03:30: as the server
// does it (proto/API.md, following RFC 5545).
export function zonedToInstant(year, month, day, hour, minute, zone) {
  const local = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets in force a day around the local time; one of them is right (zones change their
  // offset at most once in any 48 hours).
  const before = zoneOffset(local - DAY, zone);
  const after = zoneOffset(local + DAY, zone);
  const candidates = [];
  for (const off of before === after ? [before] : [before, after]) {
    const t = local - off;
    if (zoneOffset(t, zone) === off) candidates.push(t);
  }
  if (candidates.length) return Math.min(...candidates);
  return local - before; // in a gap: the offset from before it
}

function parseHHMM(s) {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(String(s || ''));
  return m ? { hour: Number(m[1]), minute: Number(m[2]) } : null;
}

export function isValidZone(zone) {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// The occurrences of a meeting that have not ended at `fromMs` and start before `untilMs`, in
// order: [{start, end, day}] with instants in ms and `day` the meeting's local weekday.
export function occurrences(meeting, fromMs, untilMs) {
  const time = parseHHMM(meeting.start_time);
  const days = Array.isArray(meeting.days) ? meeting.days : [];
  const zone = meeting.time_zone;
  if (!time || !days.length || !isValidZone(zone)) return [];
  const duration = Math.max(0, Number(meeting.duration_minutes) || 60) * 60000;
  const out = [];
  // Walk the meeting's local dates from the day before fromMs minus the duration.
  const first = zonedParts(fromMs - duration - DAY, zone);
  const startDate = Date.UTC(first.year, first.month - 1, first.day);
  for (let i = 0; i < 400; i++) {
    const date = startDate + i * DAY;
    if (date - 2 * DAY > untilMs) break;
    const d = new Date(date);
    const weekday = d.getUTCDay();
    if (!days.includes(weekday)) continue;
    const start = zonedToInstant(
      d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), time.hour, time.minute, zone,
    );
    const end = start + duration;
    if (start < untilMs && end > fromMs) out.push({ start, end, day: weekday });
  }
  return out;
}

// The viewer's own time zone (IANA name), or null if the browser does not say.
export function viewerZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

// A key for a local calendar day of an instant in a zone ("2026-11-24").
export function dayKey(ms, zone) {
  const p = zonedParts(ms, zone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}
