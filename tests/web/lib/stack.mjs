// Starts tests/web/stack.py (a throwaway PostgreSQL cluster and the real havend, through the
// Python harness of tests/integration) and talks to it over its stdin and stdout.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..', '..');
const PYTHON = process.env.HAVEN_WEB_PYTHON || '/usr/bin/python3';

export async function startStack() {
  const child = spawn(PYTHON, [path.join(REPO, 'tests', 'web', 'stack.py')], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d.toString();
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  const queued = [];
  lines.on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const w = waiting.shift();
    if (w) w(msg);
    else queued.push(msg);
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const next = (timeoutMs = 120000) => new Promise((resolve, reject) => {
    if (queued.length) {
      resolve(queued.shift());
      return;
    }
    const timer = setTimeout(() => reject(new Error(`stack.py did not answer:\n${stderr}`)), timeoutMs);
    waiting.push((msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    exited.then((code) => reject(new Error(`stack.py exited with ${code}:\n${stderr}`)));
  });

  const ready = await next();
  if (!ready.ready) throw new Error(`the test server did not start:\n${ready.error || ''}\n${stderr}`);

  async function command(name) {
    child.stdin.write(`${name}\n`);
    const r = await next();
    if (!r.ok) throw new Error(`stack ${name}: ${r.error}`);
    return r;
  }

  return {
    ...ready,
    stop: () => command('stop'),
    start: () => command('start'),
    kill: () => command('kill'),
    pgStop: () => command('pg-stop'),
    pgStart: () => command('pg-start'),
    health: () => command('health'),
    log: async () => (await command('log')).log,
    // A meeting made with `havend meeting add` (an object as POST /api/meetings takes).
    addMeeting: (meeting) => command(`meeting-add ${JSON.stringify(meeting)}`),
    // The test chair account gets this role in this meeting.
    grant: (slug, role) => command(`grant ${slug} ${role}`),
    // Stops havend (checking its exit status and sanitizer log) and removes the cluster.
    async close() {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`stack.py exited with ${code}:\n${stderr}`);
    },
  };
}
