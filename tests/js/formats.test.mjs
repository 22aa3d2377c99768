// Formats per subscriber and token expiry, through the real pollbridge:
//  * watches in each format (`format` option) side by side on one stream,
//    on both transports: each gets its representation, and every watch's
//    document equals what the backend served after every change;
//  * a token function giving short-lived JWTs: when the server closes the
//    stream, the client asks for a fresh token at once and resumes from its
//    place (no gap, no duplicate, no fresh snapshot).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { EventSource } from 'eventsource';
import { watch } from '../../clients/js/pollbridge.js';
import { ADMIN_TOKEN, FakeUpstream, Pollbridge, waitFor } from './lib/harness.mjs';

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

// A JWT that pollbridge would accept in form (the signature is not checked
// by this test's pollbridge; see the second describe when it is).
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jwt = (exp) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'tester', exp })}.c2lnbmF0dXJl`;

describe('token expiry through the real pollbridge (the server closes the stream)', () => {
  let upstream;
  let proxy;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/doc', { v: 1, pad });
    proxy = await new Pollbridge({ streams: [{ name: 'doc', url: upstream.url('/doc'), interval: '1h' }] }).start();
    await waitFor(async () => (await fetch(`${proxy.baseUrl}/streams/doc`)).status === 200, { what: 'the first poll' });
  });
  after(async () => {
    await proxy.dispose();
    await upstream.stop();
  });

  for (const transport of ['fetch', 'eventsource']) {
    test(`${transport}: an expired token is replaced at once and the stream resumes from its place`, async () => {
      // The first token expires while the stream is open; the connection is
      // then closed by pollbridge (here by a reload that replaces the
      // stream, as pollbridge's expiry close is not on this branch yet).
      const now = Math.floor(Date.now() / 1000);
      const tokens = [jwt(now + 1), jwt(now + 3600)];
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
      const { w, log } = record(`${proxy.baseUrl}/events/doc`, {
        transport,
        EventSource: RecordingEventSource,
        fetch: recordingFetch,
        token: async () => {
          asked.push(Date.now());
          return tokens[Math.min(asked.length - 1, 1)];
        },
      });
      upstream.set('/doc', { v: 1, pad });
      await proxy.poll('doc');
      await waitFor(() => w.document && w.document.v === 1, { what: 'the snapshot' });
      upstream.set('/doc', { v: 2, pad });
      await proxy.poll('doc');
      await waitFor(() => w.document.v === 2, { what: 'the first change' });
      const before = log.changes.length;
      // Wait for the first token's expiry, then have pollbridge close the stream.
      await waitFor(() => Date.now() >= (now + 1) * 1000 + 50, { timeout: 5000, what: 'the expiry' });
      const config = readFileSync(proxy.configFile, 'utf8');
      // A changed setting: the stream is replaced and its clients closed.
      const toggled = config.includes('"1h"') ? config.replace('"1h"', '"2h"') : config.replace('"2h"', '"1h"');
      writeFileSync(proxy.configFile, toggled);
      const reload = await fetch(`${proxy.baseUrl}/admin/reload`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(reload.status, 200, await reload.text());
      await waitFor(() => asked.length >= 2, { what: 'a fresh token' });
      await waitFor(() => log.statuses.at(-1) === 'live' && requests.length >= 2, { what: 'the new connection' });
      upstream.set('/doc', { v: 3, pad });
      await proxy.poll('doc');
      await waitFor(() => w.document.v === 3, { what: 'the change after the refresh' });
      // The new connection carried the fresh token and the last id.
      const last = requests.at(-1);
      const url = new URL(last.url);
      if (transport === 'fetch') {
        assert.equal(last.headers.Authorization, `Bearer ${tokens[1]}`);
        assert.equal(last.headers['Last-Event-ID'], log.changes[before - 1].id);
      } else {
        assert.equal(url.searchParams.get('access_token'), tokens[1]);
        assert.equal(url.searchParams.get('lastEventId'), log.changes[before - 1].id);
      }
      // Resumed, not restarted: the only change after is the patch.
      assert.deepEqual(
        log.changes.slice(before).map((c) => c.type),
        ['patch'],
        'no fresh snapshot, no duplicate',
      );
      assert.ok(!log.statuses.some((s) => s.startsWith('unauthorized')));
      assert.ok(!proxy.output.includes(tokens[0]) && !proxy.output.includes(tokens[1]), 'tokens are not logged');
      w.close();
    });
  }
});
