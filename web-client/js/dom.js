// Building the page. User text only ever goes in as text: h() puts strings into text nodes and
// sets `text` with textContent; nothing here parses HTML.

// h('p', {class: 'note', text: 'Hello'}), h('a', {href: '#/'}, 'Home', ' ', h('span', {}, x))
// Props: class, text, hidden, on: {event: handler}, dataset: {...}, attrs starting with
// aria- or data-, and plain properties (id, href, type, value, disabled, ...).
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'on') {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    } else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('aria-') || key === 'role' || key === 'for' || key === 'tabindex' ||
             key === 'autocomplete' || key === 'inputmode' || key === 'enterkeyhint' ||
             key === 'list' || key === 'form' || key === 'rel' || key === 'download' ||
             key === 'datetime' || key === 'lang' || key === 'maxlength' || key === 'spellcheck' ||
             key === 'autocapitalize') {
      el.setAttribute(key, value === true ? 'true' : String(value));
    } else el[key] = value;
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Text with the line breaks people typed, without any markup: alternating text nodes and <br>.
// (The room uses white-space: pre-wrap instead; this is for short notes.)
export function lines(text) {
  const out = [];
  String(text).split('\n').forEach((line, i) => {
    if (i) out.push(document.createElement('br'));
    out.push(document.createTextNode(line));
  });
  return out;
}

// Say something to screen reader users through the page's polite live region.
let announceTimer = null;
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Clear, then set on the next tick, so the same sentence twice is still read.
  region.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// A labelled form field with a hint and an error slot, wired with aria-describedby.
export function field({ id, label, input, hint }) {
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  const errorEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  input.id = id;
  const described = [hintEl && hintEl.id, errorEl.id].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', described);
  const wrap = h('div', { class: 'field' }, h('label', { for: id, text: label }), hintEl, input, errorEl);
  return {
    wrap,
    input,
    setError(message) {
      errorEl.textContent = message || '';
      errorEl.hidden = !message;
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}
