// Formats per subscriber and token expiry, through the real pollbridge:
//  * watches in each format (`format` option) side by side on one stream,
//    on both transports: each gets its representation, and every watch's
//    document equals what the backend served after every change;
//  * a token function giving short-lived JWTs to a pollbridge that checks
//    them: when pollbridge closes the stream at the token's exp, the client
//    asks for a fresh token at once and resumes from its place (no gap, no
//    duplicate, no fresh snapshot, no 401 round trip).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { EventSource } from 'eventsource';
import { watch } from '../../clients/js/pollbridge.js';
import { FakeUpstream, Pollbridge, waitFor } from './lib/harness.mjs';

// Documents big enough that small changes are patches (no event is larger
// than the document), with a null that no merge patch can carry.
const pad = '.'.repeat(80);
const DOCS = [
  { a: 1, b: { c: 2, d: [1, 2] }, e: 'x', pad },
  { a: 2, b: { c: 2, d: [1, 2] }, e: 'x', pad },
  { a: 2, b: { c: 3, d: [1, 2, 3] }, pad },
  { a: null, b: { c: 3, d: [1, 2, 3] }, pad },
  { a: 5, b: { c: 3, d: [1, 2, 3] }, f: { g: true }, pad },
];

function record(url, options) {
  const log = { changes: [], statuses: [], errors: [] };
  const w = watch(url, {
    shared: false,
    onChange: (doc, change) => log.changes.push({ doc: structuredClone(doc), type: change.type, id: change.id }),
    onStatus: (s) => log.statuses.push(s.state + (s.reason ? `: ${s.reason}` : '')),
    onError: (e) => log.errors.push(e.message),
    ...options,
  });
  return { w, log };
}

describe('formats per subscriber through the real pollbridge', () => {
  let upstream;
  let proxy;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/doc', DOCS[0]);
    proxy = await new Pollbridge({ streams: [{ name: 'doc', url: upstream.url('/doc'), interval: '1h' }] }).start();
    await waitFor(async () => (await fetch(`${proxy.baseUrl}/streams/doc`)).status === 200, { what: 'the first poll' });
  });
  after(async () => {
    await proxy.dispose();
    await upstream.stop();
  });

  for (const [transport, extra] of [
    ['fetch', {}],
    ['eventsource', { EventSource }],
  ]) {
    test(`${transport}: json-patch, merge-patch and snapshot watches beside each other`, async () => {
      upstream.set('/doc', DOCS[0]);
      await proxy.poll('doc');
      const watches = {
        own: record(`${proxy.baseUrl}/events/doc`, { transport, ...extra }),
        merge: record(`${proxy.baseUrl}/events/doc`, { transport, format: 'merge-patch', ...extra }),
        snapshot: record(`${proxy.baseUrl}/events/doc`, { transport, format: 'snapshot', ...extra }),
        patch: record(`${proxy.baseUrl}/events/doc?format=json-patch`, { transport, ...extra }),
      };
      const all = Object.values(watches);
      // JSON equality: member order does not count (a merge patch appends new members).
      const holds = (doc) => all.every(({ w }) => isDeepStrictEqual(w.document, doc));
      await waitFor(() => holds(DOCS[0]), { what: 'the snapshots' });
      for (const doc of DOCS.slice(1)) {
        upstream.set('/doc', doc);
        await proxy.poll('doc');
        await waitFor(() => holds(doc), { what: `every watch at ${JSON.stringify(doc)}` });
      }
      const types = (name) => watches[name].log.changes.slice(1).map((c) => c.type);
      assert.deepEqual(types('own'), ['patch', 'patch', 'patch', 'patch']);
      assert.deepEqual(types('patch'), ['patch', 'patch', 'patch', 'patch']);
      assert.deepEqual(types('merge'), ['merge-patch', 'merge-patch', 'snapshot', 'merge-patch'], 'a null needs a snapshot');
      assert.deepEqual(types('snapshot'), ['snapshot', 'snapshot', 'snapshot', 'snapshot']);
      // The same ids in every format.
      const ids = (name) => watches[name].log.changes.map((c) => c.id);
      for (const name of Object.keys(watches)) assert.deepEqual(ids(name), ids('own'), name);
      for (const { w, log } of all) {
        assert.deepEqual(log.errors, []);
        assert.equal(log.statuses.at(-1), 'live');
        w.close();
      }
      const info = await proxy.streamInfo('doc');
      assert.ok(info.renditions['merge-patch'] >= 4 && info.renditions.snapshot >= 4, JSON.stringify(info.renditions));
    });
  }
});

// HS256 JWTs that pollbridge's auth section below accepts.
const SECRET = '0123456789abcdef0123456789abcdef-js-expiry';
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function jwt(exp) {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'tester', iss: 'https://id.test', aud: 'pollbridge', exp, streams: ['doc'] })}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

describe('token expiry through the real pollbridge (auth closes the stream at exp)', () => {
  let upstream;
  let proxy;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/doc', { v: 1, pad });
    proxy = new Pollbridge({ streams: [{ name: 'doc', url: upstream.url('/doc'), interval: '1h' }] });
    // Every stream needs a token (the default once an auth section exists); no leeway.
    const auth =
      'auth:\n  jwt:\n    keys: [ { alg: HS256, secret: "' + SECRET + '" } ]\n' +
      '    issuer: https://id.test\n    audience: pollbridge\n    leeway: 0s\n  query_param: access_token\n';
    writeFileSync(proxy.configFile, readFileSync(proxy.configFile, 'utf8').replace('streams:\n', auth + 'streams:\n'));
    await proxy.start();
    await waitFor(async () => (await fetch(`${proxy.baseUrl}/streams/doc`, { headers: { Authorization: `Bearer ${jwt(Math.floor(Date.now() / 1000) + 60)}` } })).status === 200, { what: 'the first poll' });
  });
  after(async () => {
    await proxy.dispose();
    await upstream.stop();
  });

  for (const transport of ['fetch', 'eventsource']) {
    test(`${transport}: at the token's expiry the client takes a fresh one at once and resumes from its place`, async () => {
      const exp = Math.floor(Date.now() / 1000) + 2;
      const tokens = [jwt(exp), jwt(exp + 3600)];
      const asked = [];
      const requests = [];
      const recordingFetch = (url, init) => {
        requests.push({ url: String(url), headers: { ...(init && init.headers) } });
        return fetch(url, init);
      };
      class RecordingEventSource extends EventSource {
        constructor(url, init) {
          requests.push({ url: String(url), headers: {} });
          super(url, init);
        }
      }
      upstream.set('/doc', { v: 1, pad });
      await proxy.poll('doc');
      const { w, log } = record(`${proxy.baseUrl}/events/doc`, {
        transport,
        EventSource: RecordingEventSource,
        fetch: recordingFetch,
        token: async () => {
          asked.push(Date.now());
          return tokens[Math.min(asked.length - 1, 1)];
        },
      });
      await waitFor(() => w.document && w.document.v === 1, { what: 'the snapshot' });
      upstream.set('/doc', { v: 2, pad });
      await proxy.poll('doc');
      await waitFor(() => w.document.v === 2, { what: 'the first change' });
      const seen = log.changes.length;
      const connections = requests.length;
      // pollbridge closes the stream at exp; the client asks for a new token.
      await waitFor(() => asked.length >= 2, { what: 'a fresh token after the expiry' });
      assert.ok(asked[1] >= exp * 1000, 'not before the expiry');
      assert.ok(asked[1] - exp * 1000 < 1500, `promptly after it (${asked[1] - exp * 1000} ms)`);
      await waitFor(() => requests.length > connections && log.statuses.at(-1) === 'live', { what: 'the new connection' });
      upstream.set('/doc', { v: 3, pad });
      await proxy.poll('doc');
      await waitFor(() => w.document.v === 3, { what: 'the change after the refresh' });
      const last = requests.at(-1);
      const url = new URL(last.url);
      const lastId = log.changes[seen - 1].id;
      if (transport === 'fetch') {
        assert.equal(last.headers.Authorization, `Bearer ${tokens[1]}`);
        assert.equal(last.headers['Last-Event-ID'], lastId);
      } else {
        assert.equal(url.searchParams.get('access_token'), tokens[1]);
        assert.equal(url.searchParams.get('lastEventId'), lastId);
      }
      assert.equal(requests.length, connections + 1, 'one reconnect, no 401 round trip');
      assert.deepEqual(
        log.changes.slice(seen).map((c) => c.type),
        ['patch'],
        'resumed: no fresh snapshot, nothing lost, nothing twice',
      );
      assert.ok(!log.statuses.some((s) => s.startsWith('unauthorized')), log.statuses.join(' | '));
      assert.ok(!proxy.output.includes(tokens[0]) && !proxy.output.includes(tokens[1]), 'tokens are not logged');
      w.close();
    });
  }
});
