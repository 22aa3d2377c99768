// The long-poll transport of clients/js/pollbridge.js and the fallback from
// streaming to it (transport 'auto', the default), driven step by step: a
// scripted EventSource and fetch answer every request by hand and a fake
// clock moves only when the test says, so each transition of the state
// machine is reached on purpose and timings are exact. The same behaviour
// through real HTTP is in longpoll-e2e.test.mjs (a fake long-poll server,
// a buffering proxy, the real binary) and browser.test.mjs.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { watch } from '../../clients/js/pollbridge.js';
import { FakeClock, ScriptedEventSource, ScriptedFetch } from './lib/scripted.mjs';

const BUFFER = 1000;
const STREAM_RETRY = 60000;

let clock;
let net;
beforeEach(() => {
  clock = new FakeClock().install();
  net = new ScriptedFetch();
  ScriptedEventSource.all = [];
});
// A test that failed half-way leaves its watch open: closed here, so that
// its timers do not fire in the next test's clock.
const opened = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.close();
  clock.uninstall();
});

function start(url, options = {}) {
  const log = { changes: [], statuses: [], errors: [] };
  const w = watch(url, {
    shared: false,
    EventSource: ScriptedEventSource,
    fetch: net.fetch,
    bufferTimeout: BUFFER,
    streamRetryAfter: STREAM_RETRY,
    onChange: (doc, change) => log.changes.push(`${change.type} ${change.id}`),
    onStatus: (s) => log.statuses.push(`${s.transport} ${s.state}${s.reason ? `: ${s.reason}` : ''}`),
    onError: (e) => log.errors.push(e.message),
    ...options,
  });
  opened.push(w);
  return { w, log };
}

const ev = (id, event, stream, data) => ({ ...(id ? { id } : {}), event, data: { stream, data } });
const LP = /transport=long-poll/;

describe('the long-poll transport (forced)', () => {
  test('asks again at once after every answer, from last_id; events in order; status live', async () => {
    const { w, log } = start('http://pb.test/events?stream=a&stream=b', { transport: 'long-poll' });
    await clock.settle();
    let r = net.one(LP);
    assert.equal(r.url, 'http://pb.test/events?stream=a&stream=b&transport=long-poll', 'no position: the snapshots');
    assert.deepEqual(r.headers, {});
    r.answer(200, {
      events: [ev('a-1,', 'snapshot', 'a', { v: 1 }), ev('a-1,b-3', 'snapshot', 'b', 'text'), ev('a-2,b-3', 'patch', 'a', [{ op: 'replace', path: '/v', value: 2 }])],
      last_id: 'a-2,b-3',
    });
    await clock.settle();
    assert.deepEqual(w.documents, { a: { v: 2 }, b: 'text' });
    assert.deepEqual(log.changes, ['snapshot a-1', 'snapshot b-3', 'patch a-2']);
    assert.equal(w.status.transport, 'long-poll');
    assert.equal(w.status.state, 'live');
    r = net.one(LP);
    assert.equal(r.query.get('lastEventId'), 'a-2,b-3', 'at once, with last_id');
    // Nothing came: the server answered empty after its timeout; again at once.
    await clock.tick(25000);
    r.answer(200, { events: [], last_id: 'a-2,b-3' });
    await clock.settle();
    r = net.one(LP);
    assert.equal(r.query.get('lastEventId'), 'a-2,b-3');
    // An id-less status (not recorded) changes the status, not the position.
    r.answer(200, { events: [ev('', 'status', 'b', { state: 'stale', reason: 'down', recording: false })], last_id: 'a-2,b-3' });
    await clock.settle();
    assert.equal(w.status.state, 'stale');
    assert.equal(w.lastEventId, 'a-2,b-3');
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.statuses, ['long-poll reconnecting: connecting', 'long-poll live', 'long-poll stale: b: down']);
    w.close();
    assert.ok(net.requests.at(-1).aborted, 'close() aborts the waiting request');
  });

  test('live after LP_OPEN_MS of waiting; an error backs off, honouring Retry-After; resumes from the replicas', async () => {
    const { w, log } = start('http://pb.test/events/s', { transport: 'long-poll' });
    await clock.settle();
    net.one(LP).answer(200, { events: [ev('e-4', 'snapshot', 's', 1)], last_id: 'e-4' });
    await clock.settle();
    net.one(LP).refuse(); // pollbridge went away
    await clock.settle();
    assert.equal(log.statuses.at(-1), 'long-poll reconnecting: connection lost');
    await clock.tick(1600); // 1 s + up to 50% jitter
    let r = net.one(LP);
    assert.equal(r.query.get('lastEventId'), 'e-4', 'resumed from the replica');
    r.answer(503, { error: 'unavailable' }, { 'retry-after': '7' });
    await clock.settle();
    assert.equal(log.statuses.at(-1), 'long-poll reconnecting: HTTP 503');
    await clock.tick(6990);
    assert.equal(net.pending().length, 0, 'not before Retry-After');
    await clock.tick(20); // the request goes at 7000 ms, 10 ms ago
    r = net.one(LP);
    // Caught up: the server holds the request; the watch is live once it held it 1 s.
    await clock.tick(980);
    assert.equal(w.status.state, 'reconnecting');
    await clock.tick(10);
    assert.equal(w.status.state, 'live');
    r.answer(200, { events: [ev('e-5', 'patch', 's', [{ op: 'replace', path: '', value: 5 }])], last_id: 'e-5' });
    await clock.settle();
    assert.equal(w.document, 5);
    w.close();
  });

  test('the token goes as Authorization: Bearer; a 401 asks the token function again, keeping the place', async () => {
    let n = 0;
    const { w, log } = start('http://pb.test/events/s', { transport: 'long-poll', token: async () => `t${++n}` });
    await clock.settle();
    let r = net.one(LP);
    assert.equal(r.headers.Authorization, 'Bearer t1');
    assert.equal(r.query.has('access_token'), false, 'never in the URL');
    r.answer(200, { events: [ev('e-1', 'snapshot', 's', { v: 1 })], last_id: 'e-1' });
    await clock.settle();
    net.one(LP).answer(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    await clock.settle();
    r = net.one(LP);
    assert.equal(r.headers.Authorization, 'Bearer t2', 'at once, with a fresh token');
    assert.equal(r.query.get('lastEventId'), 'e-1');
    assert.deepEqual(w.document, { v: 1 });
    assert.ok(!log.statuses.some((s) => s.includes('unauthorized')));
    w.close();
  });

  test('a gap resynchronises that stream with a fresh request; a malformed answer is a lost connection', async () => {
    const { w, log } = start('http://pb.test/events/s', { transport: 'long-poll' });
    await clock.settle();
    net.one(LP).answer(200, { events: [ev('e-1', 'snapshot', 's', { v: 1 })], last_id: 'e-1' });
    await clock.settle();
    net.one(LP).answer(200, { events: [ev('e-3', 'patch', 's', []), ev('e-4', 'patch', 's', [])], last_id: 'e-4' });
    await clock.settle();
    assert.deepEqual(log.errors, ['missed events between e-1 and e-3']);
    const r = net.one(LP);
    assert.equal(r.query.has('lastEventId'), false, 'a fresh snapshot');
    r.answer(200, { not: 'an answer' });
    await clock.settle();
    assert.equal(log.statuses.at(-1), 'long-poll reconnecting: connection lost');
    w.close();
  });

  test('an empty answer that came at once does not make a request loop', async () => {
    const { w } = start('http://pb.test/events/s', { transport: 'long-poll' });
    await clock.settle();
    net.one(LP).answer(200, { events: [], last_id: null });
    await clock.settle();
    assert.equal(net.pending().length, 0);
    await clock.tick(1000);
    assert.equal(net.one(LP).query.has('lastEventId'), false, 'last_id null: still no position');
    w.close();
  });
});

describe('the fallback from streaming to long-poll', () => {
  test('auto: a quiet EventSource whose body shows no byte either is buffered: long-poll from its id, streaming again later', async () => {
    const { w, log } = start('http://pb.test/events/s');
    await clock.settle();
    let es = ScriptedEventSource.last();
    assert.equal(w.status.transport, 'eventsource');
    es.open();
    es.emit('snapshot', 'e-1', 's', { v: 1 }); // this connection works
    await clock.tick(BUFFER * 3);
    assert.deepEqual(net.requests.map((q) => q.url), [], 'a connection that delivered is never asked about');
    es.fail();
    await clock.until(() => ScriptedEventSource.all.length === 2);
    es = ScriptedEventSource.last();
    assert.equal(new URL(es.url).searchParams.get('lastEventId'), 'e-1');
    es.open(); // and then nothing: EventSource hides comments, so it asks
    await clock.tick(es.at + BUFFER / 2 - 1 - Date.now());
    assert.equal(net.requests.length, 0);
    await clock.tick(1);
    const probe = net.one();
    assert.equal(probe.url, es.url, 'the same URL, read with fetch');
    probe.stream(); // 200, but no byte comes
    await clock.tick(BUFFER / 2 - 1);
    assert.ok(!es.closed);
    await clock.tick(1);
    assert.ok(probe.aborted && es.closed);
    const r = net.one(LP);
    assert.equal(r.query.get('lastEventId'), 'e-1', 'resumed from the last id taken');
    assert.equal(w.status.transport, 'long-poll');
    r.answer(200, { events: [ev('e-2', 'patch', 's', [{ op: 'replace', path: '/v', value: 2 }])], last_id: 'e-2' });
    await clock.settle();
    assert.deepEqual(w.document, { v: 2 });
    assert.deepEqual(log.statuses, [
      'eventsource reconnecting: connecting',
      'eventsource live',
      'eventsource reconnecting: connection lost',
      'eventsource live',
      `long-poll reconnecting: streaming looks buffered (nothing within ${BUFFER} ms): long-poll`,
      'long-poll live',
    ]);
    // streamRetryAfter later: EventSource again, from where long-poll got.
    await clock.tick(STREAM_RETRY - 2 * BUFFER);
    assert.ok(net.one(LP).aborted === undefined);
    await clock.tick(2 * BUFFER);
    assert.equal(net.pending().length, 0, 'the waiting long-poll was aborted');
    es = ScriptedEventSource.last();
    assert.equal(ScriptedEventSource.all.length, 3);
    assert.equal(new URL(es.url).searchParams.get('lastEventId'), 'e-2');
    assert.equal(log.statuses.at(-1), 'eventsource live');
    es.open();
    es.emit('patch', 'e-3', 's', [{ op: 'replace', path: '/v', value: 3 }]);
    await clock.tick(STREAM_RETRY * 2);
    assert.equal(ScriptedEventSource.all.length, 3, 'streaming works: it stays');
    assert.equal(net.requests.filter((q) => !q.done && !q.aborted).length, 0);
    assert.deepEqual(w.document, { v: 3 });
    assert.deepEqual(log.changes, ['snapshot e-1', 'patch e-2', 'patch e-3']);
    assert.deepEqual(log.errors, []);
    w.close();
  });

  test('auto: a quiet EventSource whose body does show bytes (the retry line) is kept', async () => {
    const { w } = start('http://pb.test/events/s');
    await clock.settle();
    ScriptedEventSource.last().open();
    await clock.tick(BUFFER / 2);
    const probe = net.one();
    probe.stream();
    probe.push('retry: 500\n\n');
    await clock.settle();
    assert.ok(probe.aborted, 'the probe is closed once it read');
    await clock.tick(BUFFER * 5);
    assert.equal(ScriptedEventSource.all.length, 1);
    assert.equal(net.requests.length, 1);
    assert.equal(w.status.transport, 'eventsource');
    w.close();
  });

  test('fetch: a stream that shows no byte within bufferTimeout is buffered; the token stays in a header', async () => {
    const { w, log } = start('http://pb.test/events/s', { transport: 'fetch', token: 'tok' });
    await clock.settle();
    let r = net.one();
    assert.equal(w.status.transport, 'fetch');
    r.stream();
    await clock.tick(BUFFER - 1);
    assert.ok(!r.aborted);
    await clock.tick(1);
    assert.ok(r.aborted);
    r = net.one(LP);
    assert.equal(r.headers.Authorization, 'Bearer tok');
    assert.equal(r.headers.Accept, undefined, 'no event-stream Accept on a JSON request');
    assert.deepEqual(log.statuses.slice(-1), [`long-poll reconnecting: streaming looks buffered (nothing within ${BUFFER} ms): long-poll`]);
    w.close();
  });

  test('fetch: any byte, a comment or the retry line, proves the stream', async () => {
    const { w } = start('http://pb.test/events/s', { transport: 'fetch' });
    await clock.settle();
    const r = net.one();
    r.stream();
    await clock.tick(BUFFER / 2);
    r.push(':\n\n');
    await clock.tick(BUFFER * 10);
    assert.ok(!r.aborted);
    assert.equal(net.requests.length, 1);
    w.close();
  });

  test(`connections that end at once, three in a row, switch; a delivering one resets the count`, async () => {
    const { w } = start('http://pb.test/events/s');
    await clock.settle();
    // Opens the last connection, ends it 10 ms later, waits for the next one.
    const quickEnd = async () => {
      const es = ScriptedEventSource.last();
      es.open();
      await clock.tick(10);
      es.fail();
      const n = ScriptedEventSource.all.length;
      await clock.until(() => ScriptedEventSource.all.length > n);
    };
    await quickEnd();
    await quickEnd();
    let es = ScriptedEventSource.last();
    es.open();
    es.emit('snapshot', 'e-1', 's', 1); // delivers: not buffered
    es.fail();
    await clock.until(() => ScriptedEventSource.all.length === 4);
    await quickEnd();
    await quickEnd();
    assert.equal(net.pending().filter((r) => LP.test(r.url)).length, 0, 'two in a row only');
    es = ScriptedEventSource.last();
    es.open();
    await clock.tick(10);
    es.fail();
    await clock.settle();
    const r = net.one(LP);
    assert.equal(r.query.get('lastEventId'), 'e-1', 'at once, without the reconnect delay');
    assert.match(w.status.reason, /3 connections ended at once/);
    w.close();
  });

  test('eventsource and bufferTimeout: 0 never fall back', async () => {
    for (const options of [{ transport: 'eventsource' }, { bufferTimeout: 0 }]) {
      ScriptedEventSource.all = [];
      const { w } = start('http://pb.test/events/s', options);
      await clock.settle();
      for (let i = 0; i < 4; i++) {
        const es = ScriptedEventSource.last();
        es.open();
        await clock.tick(10);
        es.fail();
        await clock.until(() => ScriptedEventSource.all.length === i + 2);
      }
      ScriptedEventSource.last().open();
      await clock.tick(BUFFER * 10);
      assert.equal(net.requests.length, 0, JSON.stringify(options));
      assert.equal(w.status.transport, 'eventsource');
      w.close();
    }
  });

  test('buffered again after streamRetryAfter: back to long-poll, losing nothing', async () => {
    const { w, log } = start('http://pb.test/events/s', { transport: 'fetch' });
    await clock.settle();
    net.one().stream();
    await clock.tick(BUFFER);
    net.one(LP).answer(200, { events: [ev('e-1', 'snapshot', 's', { v: 1 })], last_id: 'e-1' });
    await clock.settle();
    await clock.tick(STREAM_RETRY);
    let r = net.one(/events\?stream=s$/);
    assert.equal(r.headers['Last-Event-ID'], 'e-1');
    r.stream(); // buffered: e-2 is in the proxy's buffer, never shown
    await clock.tick(BUFFER);
    r = net.one(LP);
    assert.equal(r.query.get('lastEventId'), 'e-1');
    r.answer(200, { events: [ev('e-2', 'patch', 's', [{ op: 'replace', path: '/v', value: 2 }])], last_id: 'e-2' });
    await clock.settle();
    assert.deepEqual(w.document, { v: 2 });
    assert.deepEqual(log.changes, ['snapshot e-1', 'patch e-2']);
    assert.deepEqual(
      log.statuses.map((s) => s.split(' ')[0]),
      ['fetch', 'fetch', 'long-poll', 'long-poll', 'fetch', 'long-poll', 'long-poll'],
      log.statuses.join(' | '),
    );
    w.close();
  });

  test("EventSource refused: the probe's Retry-After is honoured too", async () => {
    start('http://pb.test/events/s', { transport: 'eventsource' });
    await clock.settle();
    ScriptedEventSource.last().fail(); // never opened: the client asks why
    await clock.settle();
    net.one().answer(503, { error: 'unavailable' }, { 'retry-after': '4' });
    await clock.tick(3999);
    assert.equal(ScriptedEventSource.all.length, 1, 'not before Retry-After');
    await clock.tick(1);
    assert.equal(ScriptedEventSource.all.length, 2);
  });

  test('an unknown transport is refused', () => {
    assert.throws(() => watch('http://pb.test/events/s', { transport: 'websocket', shared: false }), TypeError);
  });
});
