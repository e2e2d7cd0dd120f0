// Placeholder script: shows whether the server is reachable. The real client comes later.
'use strict';

(function () {
  const status = document.getElementById('status');
  if (!status || !window.fetch) {
    return;
  }
  fetch('/healthz', { cache: 'no-store' })
    .then(function (response) {
      status.textContent = response.ok
        ? 'The server is up.'
        : 'The server is up, but some parts are not ready yet.';
    })
    .catch(function () {
      status.textContent = 'The server cannot be reached right now.';
    });
})();
