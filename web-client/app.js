// Haven's web client: the entry module. Plain ES modules, no build step (see js/).
import { initCrisisPanel } from './js/crisis.js';
import { startRouter } from './js/router.js';
import { initChrome } from './js/chrome.js';
import { directoryPage } from './js/pages/directory.js';
import { joinPage } from './js/pages/join.js';
import { roomPage } from './js/pages/room.js';
import { loginPage } from './js/pages/login.js';
import { notFoundPage } from './js/pages/notfound.js';
import {
  meetingTranscriptsPage, searchPage, transcriptPage, transcriptsPage,
} from './js/pages/transcripts.js';

const main = document.getElementById('main');
initCrisisPanel();
initChrome();
startRouter(
  {
    directory: directoryPage,
    join: joinPage,
    room: roomPage,
    login: loginPage,
    transcripts: transcriptsPage,
    meetingTranscripts: meetingTranscriptsPage,
    transcript: transcriptPage,
    search: searchPage,
    notfound: notFoundPage,
  },
  main,
);
