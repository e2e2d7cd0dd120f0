'use strict';
// A typical small Node.js chat server, the baseline of scripts/bench (see BENCHMARKS.md):
// rooms by URL path, every text message is parsed as JSON, and a "say" becomes one event
// that is serialised once and sent to every connection of the room, the sender included.
// Nothing else: no storage, no validation beyond JSON.parse, no rate limit.
//
//   node ws-chat.js [--port 0] [--host 127.0.0.1]
//
// Prints "listening PORT" on stdout once it accepts connections; stops on SIGTERM/SIGINT.
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
function arg(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '0'));

const rooms = new Map(); // path -> Set of sockets
let nextId = 1;

const wss = new WebSocketServer({ host, port, perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws, req) => {
  const path = req.url || '/';
  let room = rooms.get(path);
  if (!room) {
    room = new Set();
    rooms.set(path, room);
  }
  room.add(ws);
  const id = nextId++;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch (e) {
      return;
    }
    if (!msg || msg.type !== 'say' || typeof msg.text !== 'string') return;
    const out = JSON.stringify({ type: 'event', event: { from: id, ts: Date.now(), text: msg.text } });
    for (const peer of room) {
      if (peer.readyState === 1) peer.send(out);
    }
  });
  ws.on('close', () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(path);
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  process.stdout.write(`listening ${wss.address().port}\n`);
});

function stop() {
  wss.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
