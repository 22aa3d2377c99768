// The long-poll transport and the fallback to it over real HTTP:
//
//  * against a fake pollbridge (lib/fake-longpoll.mjs, kept to the wire
//    contract) whose events the test publishes one by one: forced long-poll
//    keeps multiplexed documents right and in order; behind a proxy that
//    buffers bodies up to 64 KiB (lib/buffering-proxy.mjs) both streaming
//    transports switch to long-poll within bufferTimeout and lose no event
//    published before, during or after the switch; without the proxy a quiet
//    EventSource stays (its first bytes are checked, not its silence);
//  * against the real binary: forced long-poll across a restart (state on
//    disk: resumed, no gap), in each format, with a token function across
//    the token's expiry (401, a fresh token, the place kept), and the
//    fallback behind the buffering proxy.
// The example page behind the buffering proxy in Chromium is in
// browser.test.mjs.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import { watch } from '../../clients/js/pollbridge.js';
import { BufferingProxy } from './lib/buffering-proxy.mjs';
import { FakeLongPollServer } from './lib/fake-longpoll.mjs';
import { FakeUpstream, Pollbridge, sleep, waitFor } from './lib/harness.mjs';
import { FakeBus, FakeLocks, openTab } from './lib/tabs.mjs';

const BUFFER_MS = 600;
// How late a switch may come after bufferTimeout (a loaded CI machine).
const MARGIN_MS = 1500;

function record(url, options) {
  const log = { changes: [], statuses: [], errors: [], switchedAt: 0 };
  const w = watch(url, {
    shared: false,
    EventSource,
    bufferTimeout: BUFFER_MS,
    streamRetryAfter: 3600000,
    onChange: (doc, change) => log.changes.push({ stream: change.stream, type: change.type, id: change.id }),
    onStatus: (s) => {
      log.statuses.push(`${s.transport} ${s.state}${s.reason ? `: ${s.reason}` : ''}`);
      if (s.transport === 'long-poll' && !log.switchedAt) log.switchedAt = Date.now();
    },
    onError: (e) => log.errors.push(e.message),
    ...options,
  });
  return { w, log };
}

const seq = (id) => Number(id.split('-')[1]);
// Every change of `stream` after its first snapshot is the next seq: none lost, none twice.
function assertConsecutive(log, stream) {
  const ids = log.changes.filter((c) => c.stream === stream).map((c) => c.id.split(',')[0]);
  for (let k = 1; k < ids.length; k++) assert.equal(seq(ids[k]), seq(ids[k - 1]) + 1, `${stream}: ${ids.slice(Math.max(0, k - 3), k + 2).join(' ')}`);
  return ids;
}

describe('long-poll and the fallback against a fake pollbridge', () => {
  let server;
  let proxy;
  before(async () => {
    server = await new FakeLongPollServer({ timeout: 800 }).start();
    proxy = await new BufferingProxy(server.baseUrl).start();
  });
  after(async () => {
    await proxy.stop();
    await server.stop();
  });

  test('forced long-poll: two streams, documents right, events in order, waiting requests answered by events', async () => {
    server.add('a', { v: 0 });
    server.add('b', 'text 0');
    const { w, log } = record(`${server.baseUrl}/events?stream=a&stream=b`, { transport: 'long-poll' });
    await waitFor(() => w.documents.a && w.documents.b !== undefined, { what: 'both snapshots' });
    assert.equal(w.status.transport, 'long-poll');
    for (let n = 1; n <= 5; n++) {
      server.publish('a', 'patch', [{ op: 'replace', path: '/v', value: n }], { v: n });
      if (n % 2) server.publish('b', 'snapshot', `text ${n}`);
      await sleep(n * 60); // sometimes the next request is waiting, sometimes several are due
    }
    await waitFor(() => w.documents.a.v === 5 && w.documents.b === 'text 5', { what: 'the last events' });
    assert.deepEqual(log.changes.filter((c) => c.stream === 'a').map((c) => c.type), ['snapshot', 'patch', 'patch', 'patch', 'patch', 'patch']);
    assertConsecutive(log, 'a');
    assert.deepEqual(log.errors, []);
    assert.equal(log.statuses.at(-1), 'long-poll live');
    assert.ok(server.requests.every((r) => r.transport === 'long-poll'));
    w.close();
  });

  for (const transport of ['auto', 'fetch']) {
    test(`${transport} behind a buffering proxy: long-poll within bufferTimeout, no event lost or applied twice`, async () => {
      const name = `buffered-${transport}`;
      server.add(name, { v: 0 });
      let n = 0;
      const publisher = setInterval(() => {
        n++;
        server.publish(name, 'patch', [{ op: 'replace', path: '/v', value: n }], { v: n });
      }, 40);
      const started = Date.now();
      const { w, log } = record(`${proxy.baseUrl}/events/${name}`, { transport });
      try {
        await waitFor(() => log.switchedAt, { what: 'the switch to long-poll' });
        const took = log.switchedAt - started;
        assert.ok(took >= BUFFER_MS - 50 && took < BUFFER_MS + MARGIN_MS, `switched after ${took} ms (bufferTimeout ${BUFFER_MS})`);
        await waitFor(() => w.document && w.document.v >= n - 1 && w.document.v > 5, { what: 'the document through long-poll' });
      } finally {
        clearInterval(publisher);
      }
      await waitFor(() => w.document.v === n, { what: `the last event (${n})` });
      const ids = assertConsecutive(log, name);
      assert.equal(seq(ids.at(-1)), n + 1, 'every event, the snapshot being the first');
      assert.equal(log.changes[0].type, 'snapshot');
      assert.equal(w.status.transport, 'long-poll');
      assert.equal(w.status.state, 'live');
      assert.deepEqual(log.errors, []);
      w.close();
    });
  }

  test('tabs behind the buffering proxy: the leader falls back, the follower shows long-poll too, one request at a time', async () => {
    server.add('shared', { v: 0 });
    const locks = new FakeLocks();
    const bus = new FakeBus();
    const options = { transport: 'auto', EventSource, bufferTimeout: BUFFER_MS, streamRetryAfter: 3600000 };
    const url = `${proxy.baseUrl}/events/shared`;
    const leader = await openTab('leader', url, { locks, bus, options });
    await waitFor(() => leader.watch.leader, { what: 'the first tab to lead' });
    const follower = await openTab('follower', url, { locks, bus, options });
    try {
      await waitFor(() => leader.watch.status.transport === 'long-poll' && follower.watch.status.transport === 'long-poll', {
        what: 'both tabs on long-poll',
      });
      await waitFor(() => follower.watch.document && follower.watch.document.v === 0, { what: "the follower's copy" });
      const before = server.requests.length;
      for (let n = 1; n <= 3; n++) {
        server.publish('shared', 'patch', [{ op: 'replace', path: '/v', value: n }], { v: n });
        await waitFor(() => leader.watch.document.v === n && follower.watch.document.v === n, { what: `both tabs at ${n}` });
      }
      assert.equal(follower.watch.leader, false);
      assert.equal(follower.watch.status.state, 'live');
      // One tab asks: about one request per event, never two waiting at once.
      assert.ok(server.requests.length - before <= 4, `${server.requests.length - before} requests for 3 events`);
      assert.deepEqual([...leader.errors, ...follower.errors], []);
    } finally {
      leader.watch.close();
      follower.watch.close();
    }
  });

  test('auto without the proxy: a quiet EventSource is kept (its first bytes came)', async () => {
    // No document yet: the stream sends its retry line and nothing else,
    // which an EventSource does not show.
    server.add('quiet');
    const before = server.requests.length;
    const { w, log } = record(`${server.baseUrl}/events/quiet`);
    await sleep(BUFFER_MS * 3);
    const asked = server.requests.slice(before).map((r) => r.transport);
    assert.deepEqual(asked, ['sse', 'sse'], 'the EventSource, and one GET reading its first bytes');
    assert.equal(w.status.transport, 'eventsource');
    assert.deepEqual(log.statuses, ['eventsource reconnecting: connecting', 'eventsource live']);
    server.publish('quiet', 'snapshot', { v: 1 });
    await waitFor(() => w.document && w.document.v === 1, { what: 'the first document, streamed' });
    assert.equal(server.requests.length, before + 2);
    w.close();
  });
});

describe('long-poll and the fallback against the real binary', () => {
  let upstream;
  let pb;
  let proxy;
  let version = 0;
  const change = async () => {
    version++;
    upstream.set('/doc', { v: version, pad: '.'.repeat(200) });
    return pb.poll('doc');
  };
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/doc', { v: 0, pad: '.'.repeat(200) });
    upstream.set('/board', 'board 0\n', 'text/plain');
    pb = await new Pollbridge({
      streams: [
        { name: 'doc', url: upstream.url('/doc'), interval: '1h', diff: 'json-patch' },
        { name: 'board', url: upstream.url('/board'), interval: '1h', diff: 'text' },
      ],
      server: { longpoll_timeout: '2s' },
      persist: true,
    }).start();
    await waitFor(async () => (await fetch(`${pb.baseUrl}/streams/doc`)).status === 200, { what: 'the first poll' });
    proxy = await new BufferingProxy(pb.baseUrl).start();
  });
  after(async () => {
    if (proxy) await proxy.stop();
    if (pb) await pb.dispose();
    if (upstream) await upstream.stop();
  });

  test('forced long-poll: documents right, events in order, resumed after a restart without a gap', async () => {
    const { w, log } = record(`${pb.baseUrl}/events?stream=doc&stream=board`, { transport: 'long-poll' });
    await waitFor(() => w.documents.doc && w.documents.board === 'board 0\n', { what: 'both snapshots' });
    for (let n = 0; n < 3; n++) await change();
    upstream.set('/board', 'board 1\n', 'text/plain');
    await pb.poll('board');
    await waitFor(() => w.documents.doc.v === version && w.documents.board === 'board 1\n', { what: 'the changes' });
    // An empty answer after longpoll_timeout, then the request after it.
    await sleep(2300);
    await change();
    await waitFor(() => w.documents.doc.v === version, { what: 'a change after an empty answer' });
    const port = pb.port;
    await pb.stop();
    await waitFor(() => w.status.state === 'reconnecting', { what: 'the client to notice' });
    upstream.set('/doc', { v: ++version, pad: '.'.repeat(200) }); // changed while down: the first poll after the restart
    await pb.start(`127.0.0.1:${port}`);
    await waitFor(() => w.documents.doc.v === version && w.status.state === 'live', { what: 'the change made while pollbridge was down' });
    await change();
    await waitFor(() => w.documents.doc.v === version, { what: 'a change after the restart' });
    const types = log.changes.filter((c) => c.stream === 'doc').map((c) => c.type);
    assert.equal(types.filter((t) => t === 'snapshot').length, 1, `resumed, not started again: ${types.join(' ')}`);
    assertConsecutive(log, 'doc');
    assert.equal(w.status.transport, 'long-poll');
    assert.deepEqual(log.errors, []);
    w.close();
  });

  test('forced long-poll in each format: every watch keeps the document', async () => {
    const formats = [undefined, 'merge-patch', 'snapshot'];
    const watches = formats.map((format) => record(`${pb.baseUrl}/events/doc`, { transport: 'long-poll', format }));
    const holds = () => watches.every(({ w }) => w.document && w.document.v === version);
    await waitFor(holds, { what: 'the snapshots' });
    for (let n = 0; n < 3; n++) {
      await change();
      await waitFor(holds, { what: `every format at ${version}` });
    }
    const [own, merge, snapshot] = watches.map(({ log }) => log.changes.slice(1).map((c) => c.type));
    assert.deepEqual(own, ['patch', 'patch', 'patch']);
    // A change published while no request of that format waited comes as a snapshot (docs/protocol.md).
    assert.ok(merge.every((t) => t === 'merge-patch' || t === 'snapshot'), merge.join(' '));
    assert.deepEqual(snapshot, ['snapshot', 'snapshot', 'snapshot']);
    for (const { w, log } of watches) {
      assert.deepEqual(log.errors, []);
      w.close();
    }
  });

  test('auto behind the buffering proxy: long-poll within bufferTimeout, every change, none twice', async () => {
    const started = Date.now();
    const { w, log } = record(`${proxy.baseUrl}/events/doc`);
    const first = version;
    const changer = (async () => {
      while (!log.switchedAt || Date.now() - log.switchedAt < 500) {
        await change();
        await sleep(80);
      }
    })();
    await waitFor(() => log.switchedAt, { what: 'the switch to long-poll' });
    const took = log.switchedAt - started;
    assert.ok(took >= BUFFER_MS - 50 && took < BUFFER_MS + MARGIN_MS, `switched after ${took} ms (bufferTimeout ${BUFFER_MS})`);
    await changer;
    await waitFor(() => w.document && w.document.v === version, { what: `the last change (${version})` });
    assert.ok(version - first >= 5, `changes during the switch: ${version - first}`);
    assert.equal(log.changes[0].type, 'snapshot');
    assertConsecutive(log, 'doc');
    assert.equal(w.status.transport, 'long-poll');
    assert.deepEqual(log.errors, []);
    w.close();
  });
});

// HS256 JWTs for the auth section below (as in formats.test.mjs).
const SECRET = '0123456789abcdef0123456789abcdef-js-longpoll';
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function jwt(exp) {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'tester', iss: 'https://id.test', aud: 'pollbridge', exp, streams: ['doc'] })}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

const pad = '.'.repeat(80);

describe('long-poll with tokens through the real binary', () => {
  let upstream;
  let pb;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/doc', { v: 1, pad }); // big enough that a change is a patch
    pb = await new Pollbridge({
      streams: [{ name: 'doc', url: upstream.url('/doc'), interval: '1h' }],
      server: { longpoll_timeout: '1s' },
      auth: { jwt: { keys: [{ alg: 'HS256', secret: SECRET }], issuer: 'https://id.test', audience: 'pollbridge', leeway: '0s' } },
    }).start();
    const probeToken = jwt(Math.floor(Date.now() / 1000) + 60);
    await waitFor(async () => (await fetch(`${pb.baseUrl}/streams/doc`, { headers: { Authorization: `Bearer ${probeToken}` } })).status === 200, {
      what: 'the first poll',
    });
  });
  after(async () => {
    if (pb) await pb.dispose();
    if (upstream) await upstream.stop();
  });

  test('the token goes as Authorization: Bearer; once it expired, a 401 brings a fresh one and the place is kept', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const tokens = [jwt(exp), jwt(exp + 3600)];
    const asked = [];
    const requests = [];
    const recordingFetch = (url, init) => {
      requests.push({ url: String(url), headers: { ...(init && init.headers) } });
      return fetch(url, init);
    };
    const { w, log } = record(`${pb.baseUrl}/events/doc`, {
      transport: 'long-poll',
      fetch: recordingFetch,
      token: async () => tokens[Math.min(asked.push(Date.now()) - 1, 1)],
    });
    await waitFor(() => w.document && w.document.v === 1, { what: 'the snapshot' });
    assert.equal(requests[0].headers.Authorization, `Bearer ${tokens[0]}`);
    assert.ok(requests.every((r) => !r.url.includes(tokens[0])), 'never in the URL');
    await waitFor(() => asked.length === 2, { what: 'a fresh token after the expiry', timeout: 6000 });
    upstream.set('/doc', { v: 2, pad });
    await pb.poll('doc');
    await waitFor(() => w.document.v === 2, { what: 'the change after the refresh' });
    assert.equal(requests.at(-1).headers.Authorization, `Bearer ${tokens[1]}`);
    assert.deepEqual(log.changes.map((c) => c.type), ['snapshot', 'patch'], 'resumed: no fresh snapshot');
    assert.ok(!log.statuses.some((s) => s.includes('unauthorized')), log.statuses.join(' | '));
    assert.deepEqual(log.errors, []);
    assert.ok(!pb.output.includes(tokens[0]) && !pb.output.includes(tokens[1]), 'tokens are not logged');
    w.close();
  });
});
