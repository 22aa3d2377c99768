// The fetch transport of clients/js/pollbridge.js: its event-stream parser
// against the rules of the WHATWG HTML standard ("Parsing an event stream"),
// then the whole reader against a recording HTTP server that writes crafted
// bytes in pieces (BOM, line ends split between chunks, multi-byte
// characters split), reconnects with Last-Event-ID, answers 401 to expired
// tokens; and tokens on both channels through the real pollbridge (which
// ignores them for now).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import { eventStreamParser, watch } from '../../clients/js/pollbridge.js';
import { FakeUpstream, Pollbridge, sleep, waitFor } from './lib/harness.mjs';

// Feeds `chunks` to a parser; returns the events and the parser.
function parse(...chunks) {
  const events = [];
  const feed = eventStreamParser((type, data, id) => events.push({ type, data, id }));
  for (const c of chunks) feed(c);
  return { events, feed };
}

describe('event-stream parsing (WHATWG HTML, 9.2.6)', () => {
  test('LF, CRLF and CR all end lines, mixed in one stream', () => {
    const { events } = parse('data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r\n\n');
    assert.deepEqual(events.map((e) => e.data), ['a', 'b', 'c', 'd']);
  });

  test('a CRLF split between chunks is one line end, not a blank line', () => {
    const { events } = parse('data: a\r', '\ndata: b\r', '\n\r', '\n');
    assert.deepEqual(events, [{ type: 'message', data: 'a\nb', id: '' }]);
    const byteByByte = parse(...'event: x\r\ndata: 1\r\n\r\n'.split(''));
    assert.deepEqual(byteByByte.events, [{ type: 'x', data: '1', id: '' }]);
  });

  test('a lone CR at the end of a chunk ends its line at once', () => {
    const { events } = parse('data: a\r\r');
    assert.deepEqual(events.map((e) => e.data), ['a'], 'dispatched without waiting for the next chunk');
  });

  test('data lines are joined with LF; one space after the colon is dropped', () => {
    const { events } = parse('data:x\ndata:  y\ndata\ndata: \n\n');
    assert.deepEqual(events[0].data, 'x\n y\n\n');
  });

  test('comments and unknown fields are ignored; a line without a colon is a name', () => {
    const { events } = parse(': heartbeat\n:\nfoo: bar\nevent\ndata: 1\n\n');
    assert.deepEqual(events, [{ type: 'message', data: '1', id: '' }], '"event" alone sets an empty type');
  });

  test('the event type applies to one event; the id stays until changed', () => {
    const { events, feed } = parse('event: patch\nid: e-1\ndata: 1\n\ndata: 2\n\nid\ndata: 3\n\n');
    assert.deepEqual(events, [
      { type: 'patch', data: '1', id: 'e-1' },
      { type: 'message', data: '2', id: 'e-1' },
      { type: 'message', data: '3', id: '' },
    ]);
    assert.equal(feed.id, '');
  });

  test('an id containing NUL is ignored', () => {
    const { events } = parse('id: good\ndata: 1\n\nid: ba\0d\ndata: 2\n\n');
    assert.deepEqual(events.map((e) => e.id), ['good', 'good']);
  });

  test('retry takes ASCII digits only', () => {
    assert.equal(parse('retry: 250\n\n').feed.retry, 250);
    assert.equal(parse('retry: 250\nretry: 1e3\nretry: -5\nretry: 12a\nretry:\n\n').feed.retry, 250);
  });

  test('an event without data is not dispatched, but its id counts', () => {
    const { events, feed } = parse('id: only-id\nevent: x\n\ndata: y\n\n');
    assert.deepEqual(events, [{ type: 'message', data: 'y', id: 'only-id' }]);
    assert.equal(feed.id, 'only-id');
  });

  test('an unfinished event is not dispatched', () => {
    const { events } = parse('data: 1\n\ndata: 2\n');
    assert.deepEqual(events.map((e) => e.data), ['1']);
  });

  test('"data:" with nothing is an event with empty data', () => {
    assert.deepEqual(parse('data:\n\n').events, [{ type: 'message', data: '', id: '' }]);
  });
});

// An HTTP server whose answer to each /events request the test scripts:
// `script(req, res, n)` for the n-th request (from 1). Every request is
// recorded with its URL and headers.
class ScriptedServer {
  constructor(script) {
    this.script = script;
    this.requests = [];
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url, headers: req.headers, method: req.method });
      this.script(req, res, this.requests.length);
    });
  }
  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }
  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const sseHead = (res) => res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
const envelope = (stream, data) => JSON.stringify({ stream, data });

// Writes `pieces` with a pause between them, so that they reach the client
// as separate chunks.
async function writeApart(res, pieces) {
  for (const p of pieces) {
    res.write(p);
    await sleep(15);
  }
}

function record(url, options = {}) {
  const log = { changes: [], statuses: [], errors: [] };
  const w = watch(url, {
    transport: 'fetch',
    shared: false,
    onChange: (doc, change) => log.changes.push({ doc: structuredClone(doc), ...change }),
    onStatus: (s) => log.statuses.push(s.state + (s.reason ? `: ${s.reason}` : '')),
    onError: (e) => log.errors.push(e.message),
    ...options,
  });
  return { w, log };
}

describe('the fetch transport against a scripted server', () => {
  const servers = [];
  const serve = async (script) => {
    const s = await new ScriptedServer(script).start();
    servers.push(s);
    return s;
  };
  after(async () => {
    for (const s of servers) await s.stop();
  });

  test('crafted bytes in pieces: BOM, CR line ends, a CRLF and a UTF-8 character split between chunks', async () => {
    const text = `${envelope('s', { name: 'café ☕' })}`;
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(Buffer.from('☕')) + 1; // inside the 3-byte character
    const server = await serve(async (req, res) => {
      sseHead(res);
      await writeApart(res, [
        Buffer.from([0xef, 0xbb, 0xbf]), // BOM
        'retry: 50\r: a comment\r\rid: e-1\revent: snapshot\rdata: ',
        bytes.subarray(0, cut),
        bytes.subarray(cut),
        '\r',
        '\n\r\n',
        `id: e-2\nevent: patch\ndata: ${envelope('s', [{ op: 'add', path: '/n', value: 1 }])}\n\n`,
      ]);
    });
    const { w, log } = record(`${server.url}/events/s`);
    await waitFor(() => w.document && w.document.n === 1, { what: 'both events' });
    assert.deepEqual(w.document, { name: 'café ☕', n: 1 });
    assert.deepEqual(log.changes.map((c) => `${c.type} ${c.id}`), ['snapshot e-1', 'patch e-2']);
    assert.deepEqual(log.errors, []);
    assert.equal(server.requests[0].headers.accept, 'text/event-stream');
    w.close();
  });

  test('reconnects after the server\'s retry with Last-Event-ID, composite over the streams', async () => {
    const server = await serve(async (req, res, n) => {
      sseHead(res);
      if (n === 1) {
        res.write('retry: 120\n\n');
        res.write(`id: a-1,\nevent: snapshot\ndata: ${envelope('a', 1)}\n\n`);
        res.end(`id: a-1,b-7\nevent: snapshot\ndata: ${envelope('b', 7)}\n\n`);
      } else {
        res.write(`id: a-2,b-7\nevent: patch\ndata: ${envelope('a', [{ op: 'replace', path: '', value: 2 }])}\n\n`);
      }
    });
    const { w, log } = record(`${server.url}/events?stream=a&stream=b`);
    await waitFor(() => w.documents.a === 2, { what: 'the resumed stream' });
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[0].headers['last-event-id'], undefined);
    assert.equal(server.requests[1].headers['last-event-id'], 'a-1,b-7');
    assert.ok(!server.requests[1].url.includes('lastEventId'), 'the header, not the query');
    assert.deepEqual(log.statuses, ['reconnecting: connecting', 'live', 'reconnecting: connection lost', 'live']);
    w.close();
  });

  test('an answer that is not an event stream is a failed connection', async () => {
    const server = await serve((req, res, n) => {
      if (n === 1) res.writeHead(200, { 'Content-Type': 'text/html' }).end('<p>a login page</p>');
      else if (n === 2) res.writeHead(503, { 'Content-Type': 'application/json' }).end('{}');
      else {
        sseHead(res);
        res.write(`id: e-1\nevent: snapshot\ndata: ${envelope('s', 'ok')}\n\n`);
      }
    });
    const { w, log } = record(`${server.url}/events/s`);
    await waitFor(() => w.document === 'ok', { timeout: 15000, what: 'the third connection' });
    assert.deepEqual(log.statuses.slice(0, 3), ['reconnecting: connecting', 'reconnecting: connection lost', 'reconnecting: HTTP 503']);
    w.close();
  });

  test('idleTimeout: a connection silent that long is replaced', async () => {
    const server = await serve((req, res, n) => {
      sseHead(res);
      res.write(`id: e-${n}\nevent: snapshot\ndata: ${envelope('s', n)}\n\n`);
      // then silence: no event, no heartbeat, no end
    });
    const { w } = record(`${server.url}/events/s`, { idleTimeout: 200 });
    await waitFor(() => w.document === 2, { what: 'a second connection' });
    assert.equal(server.requests[1].headers['last-event-id'], 'e-1');
    w.close();
  });

  test('tokens: Authorization: Bearer, never in the URL; a 401 refreshes it and keeps the place', async () => {
    let valid = 'first';
    const server = await serve((req, res) => {
      if (req.headers.authorization !== `Bearer ${valid}`) {
        res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer' }).end('{"error":"unauthorized"}');
        return;
      }
      sseHead(res);
      if (!req.headers['last-event-id']) {
        res.write(`id: e-1\nevent: snapshot\ndata: ${envelope('s', { v: 1 })}\n\n`);
        // The token expires and the connection ends.
        valid = 'second';
        res.end();
      } else {
        res.write(`id: e-2\nevent: patch\ndata: ${envelope('s', [{ op: 'replace', path: '/v', value: 2 }])}\n\n`);
      }
    });
    const issued = [];
    const { w, log } = record(`${server.url}/events/s`, {
      token: async () => {
        issued.push(issued.length === 0 ? 'first' : 'second');
        return issued.at(-1);
      },
    });
    await waitFor(() => w.document && w.document.v === 2, { what: 'the patch after the refresh' });
    assert.deepEqual(issued, ['first', 'second']);
    const seen = server.requests.map((r) => [r.headers.authorization, r.headers['last-event-id'] || '']);
    assert.deepEqual(seen, [
      ['Bearer first', ''],
      ['Bearer first', 'e-1'], // 401
      ['Bearer second', 'e-1'],
    ]);
    for (const r of server.requests) assert.ok(!/first|second|access_token/.test(r.url), r.url);
    assert.ok(!log.statuses.includes('unauthorized: HTTP 401'), 'a refresh that works is not reported');
    assert.deepEqual(log.changes.map((c) => c.id), ['e-1', 'e-2'], 'nothing lost, nothing twice');
    w.close();
  });

  test('a token that keeps failing is unauthorized, and retried with a fresh one', async () => {
    let calls = 0;
    const server = await serve((req, res) => {
      if (req.headers.authorization !== 'Bearer t4') return res.writeHead(401).end();
      sseHead(res);
      res.write(`id: e-1\nevent: snapshot\ndata: ${envelope('s', 'in')}\n\n`);
    });
    const { w, log } = record(`${server.url}/events/s`, { token: () => `t${++calls}` });
    await waitFor(() => w.document === 'in', { timeout: 15000, what: 'the fourth token' });
    assert.equal(calls, 4);
    assert.ok(log.statuses.includes('unauthorized: HTTP 401'));
    assert.equal(log.statuses.at(-1), 'live');
    w.close();
  });

  test('EventSource transport: the token in the query (default and configured name), 401 found by a probe', async () => {
    let valid = 'one';
    const server = await serve((req, res) => {
      const q = new URL(req.url, 'http://x').searchParams;
      if ((q.get('access_token') || q.get('auth')) !== valid) return res.writeHead(401).end();
      sseHead(res);
      if (!q.get('lastEventId')) {
        res.write(`id: e-1\nevent: snapshot\ndata: ${envelope('s', 1)}\n\n`);
        valid = 'two';
        res.end();
      } else res.write(`id: e-2\nevent: patch\ndata: ${envelope('s', [{ op: 'replace', path: '', value: 2 }])}\n\n`);
    });
    const tokens = ['one', 'two'];
    const { w } = record(`${server.url}/events/s`, { transport: 'eventsource', EventSource, token: async () => tokens.shift() });
    await waitFor(() => w.document === 2, { what: 'the event after the refresh' });
    const seen = server.requests.map((r) => {
      const q = new URL(r.url, 'http://x').searchParams;
      return [r.method, q.get('access_token'), q.get('lastEventId') || '', r.headers.authorization];
    });
    // The failed EventSource, the probe that reads its status, the fresh one.
    assert.deepEqual(seen.slice(0, 2), [['GET', 'one', '', undefined], ['GET', 'one', 'e-1', undefined]]);
    assert.deepEqual(seen.at(-1), ['GET', 'two', 'e-1', undefined]);
    w.close();

    valid = 'x';
    const named = record(`${server.url}/events/s`, { transport: 'eventsource', EventSource, token: 'x', tokenParam: 'auth' });
    await waitFor(() => named.w.document === 1);
    assert.ok(server.requests.at(-1).url.includes('auth=x') && !server.requests.at(-1).url.includes('access_token'));
    named.w.close();
  });
});

describe('tokens through the real pollbridge (which does not check them yet)', () => {
  let upstream;
  let proxy;
  let version = 1;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/doc', { v: version });
    proxy = await new Pollbridge({ streams: [{ name: 'doc', url: upstream.url('/doc'), interval: '1h' }] }).start();
  });
  after(async () => {
    await proxy.dispose();
    await upstream.stop();
  });

  for (const [transport, extra] of [
    ['fetch', {}],
    ['eventsource', { EventSource }],
  ]) {
    test(`${transport}: a watch with a token follows the stream`, async () => {
      const { w, log } = record(`${proxy.baseUrl}/events/doc`, { transport, token: async () => 'opaque-token', ...extra });
      await waitFor(() => w.document && w.document.v === version, { what: 'the snapshot' });
      upstream.set('/doc', { v: ++version });
      await proxy.poll('doc');
      await waitFor(() => w.document.v === version, { what: 'the change' });
      assert.equal(log.statuses.at(-1), 'live');
      assert.ok(!proxy.output.includes('opaque-token'), 'the token is not logged');
      w.close();
    });
  }
});
