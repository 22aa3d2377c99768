// A small stand-in for pollbridge's /events endpoint, SSE and long-poll,
// kept to the wire contract of docs/protocol.md so that the client's
// transports can be tested over real HTTP without the binary (and with
// exact control: the test publishes each event itself). What it keeps of
// the contract:
//
//  * GET /events?stream=a&stream=b (the client always uses the multiplexed
//    form); payloads in the {"stream", "data"} envelope; composite ids, one
//    part per stream in the request's order, a part empty until that
//    stream's first event on the connection;
//  * the position from Last-Event-ID or ?lastEventId=; per stream, a part
//    of the current epoch at or below the newest seq is resumed (every event
//    after it), anything else gets a fresh snapshot of the current document
//    (nothing while the stream has no document);
//  * SSE: 200 text/event-stream, `retry:` first, then the events, then live;
//  * ?transport=long-poll: 200 application/json, Cache-Control: no-store,
//    {"events":[{id, event, data}], "last_id"} with `data` the envelope as
//    JSON (not a string); what is due at once, else the request waits for
//    the next event or `timeout` ms and answers "events": [] with the same
//    last_id (null while no stream has an id yet).
//
// Not kept: formats, tokens, statuses, limits and history bounds (every
// event is kept), heartbeats.
import { createServer } from 'node:http';

export class FakeLongPollServer {
  constructor({ timeout = 1000, retry = 300 } = {}) {
    this.timeout = timeout;
    this.retry = retry;
    this.streams = new Map(); // name -> {epoch, seq, doc, has, events: [{seq, event, data}]}
    this.listeners = new Set(); // (name) => void, per open request
    this.requests = []; // {transport, lastEventId}
    this.server = createServer((req, res) => this._serve(req, res));
    this.sockets = new Set();
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** A stream with epoch `epoch`; `doc` (if given) as its first event, a snapshot. */
  add(name, doc, epoch = 'e' + Math.floor(Math.random() * 1e6).toString(16)) {
    this.streams.set(name, { epoch, seq: 0, has: false, doc: undefined, events: [] });
    if (doc !== undefined) this.publish(name, 'snapshot', doc);
  }

  /** Records an event (a snapshot replaces the document; patches are not applied here). */
  publish(name, event, data, doc) {
    const s = this.streams.get(name);
    s.seq++;
    s.events.push({ seq: s.seq, event, data });
    if (event === 'snapshot') {
      s.doc = data;
      s.has = true;
      s.docSeq = s.seq;
    } else if (doc !== undefined) {
      s.doc = doc;
      s.docSeq = s.seq;
    }
    for (const f of this.listeners) f(name);
    return `${s.epoch}-${s.seq}`;
  }

  _serve(req, res) {
    const url = new URL(req.url, 'http://fake');
    if (url.pathname !== '/events') return res.writeHead(404).end();
    const names = url.searchParams.getAll('stream');
    if (!names.length || names.some((n) => !this.streams.has(n))) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    const header = req.headers['last-event-id'];
    const position = (header !== undefined ? header : url.searchParams.get('lastEventId') || '').trim();
    const longPoll = url.searchParams.get('transport') === 'long-poll';
    this.requests.push({ transport: longPoll ? 'long-poll' : 'sse', lastEventId: position });
    // Per stream: the seq after which events are due (resumed), or null: a fresh snapshot.
    const parts = position.split(',');
    const cur = names.map(() => '');
    const after = names.map((name, i) => {
      const s = this.streams.get(name);
      const m = /^([0-9a-z]+)-(\d+)$/.exec(parts[i] || '');
      if (m && m[1] === s.epoch && +m[2] <= s.seq) {
        cur[i] = parts[i];
        return +m[2];
      }
      return null;
    });
    // The events due now, with their composite ids, as {id, event, data}.
    const due = () => {
      const out = [];
      names.forEach((name, i) => {
        const s = this.streams.get(name);
        if (after[i] === null) {
          if (!s.has) return;
          cur[i] = `${s.epoch}-${s.docSeq}`;
          out.push({ id: cur.join(','), event: 'snapshot', data: { stream: name, data: s.doc } });
          after[i] = s.docSeq;
        }
        for (const e of s.events.filter((x) => x.seq > after[i])) {
          cur[i] = `${s.epoch}-${e.seq}`;
          out.push({ id: cur.join(','), event: e.event, data: { stream: name, data: e.data } });
          after[i] = e.seq;
        }
      });
      return out;
    };
    const listen = (f) => {
      const l = (name) => names.includes(name) && f();
      this.listeners.add(l);
      res.on('close', () => this.listeners.delete(l));
      return l;
    };
    if (!longPoll) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.write(`retry: ${this.retry}\n\n`);
      const send = () => {
        for (const e of due()) res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
      };
      send();
      listen(send);
      return;
    }
    const answer = (events) => {
      const last = cur.join(',');
      const body = JSON.stringify({ events, last_id: /[^,]/.test(last) ? last : null });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const now = due();
    if (now.length) return answer(now);
    let timer = null;
    const l = listen(() => {
      const events = due();
      if (!events.length) return;
      clearTimeout(timer);
      this.listeners.delete(l);
      answer(events);
    });
    timer = setTimeout(() => {
      this.listeners.delete(l);
      answer([]);
    }, this.timeout);
    res.on('close', () => clearTimeout(timer));
  }
}
