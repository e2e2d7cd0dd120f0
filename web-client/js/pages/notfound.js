import { h } from '../dom.js';
import { focusHeading } from '../router.js';
import { setTitle } from '../chrome.js';

export function notFoundPage(container) {
  setTitle('Page not found');
  container.append(h('div', { class: 'page' },
    h('h1', { text: 'This page does not exist' }),
    h('p', { text: 'The address may be mistyped, or the page may have moved.' }),
    h('p', {}, h('a', { href: '#/', text: 'See the list of meetings' }))));
  focusHeading(container);
}
