// pollbridge's wire contract as an independent client sees it: npm's
// `eventsource` (a WHATWG EventSource) reads the real pollbridge binary in
// front of a fake legacy backend that this test changes step by step, and
// npm's `fast-json-patch` applies the patches.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { FakeUpstream, Pollbridge, waitFor } from './lib/harness.mjs';
import { Recorder } from './lib/recorder.mjs';

// Poll quickly so that each step of a test takes a fraction of a second.
const INTERVAL = '100ms';
// Long enough for several polls: "nothing more arrived" is checked over this.
const QUIET_MS = 600;

function order(id, status, total, extra = {}) {
  return { id, customer: id % 7, status, total, ...extra };
}

const initialOrders = () => ({
  updatedAt: '2024-05-01T10:00:00Z',
  orders: [order(1, 'new', 10.5), order(2, 'paid', 7), order(3, 'packed', 99.99)],
});

// An upstream serving `doc` at /api/orders and a pollbridge with one stream
// "orders" on it; both are stopped when the test ends.
// `routes` adds other upstream paths: {path: [body, contentType]}.
async function setup(t, { doc = initialOrders(), stream = {}, upstreamPath = '/api/orders', extraStreams = [], routes = {} } = {}) {
  const upstream = await new FakeUpstream().start();
  upstream.set(upstreamPath, doc);
  for (const [path, [body, contentType]] of Object.entries(routes)) upstream.set(path, body, contentType);
  const streams = [
    { name: 'orders', url: upstream.url(upstreamPath), interval: INTERVAL, diff: 'json-patch', key: 'id', ...stream },
    ...extraStreams.map((s) => ({ interval: INTERVAL, ...s, url: upstream.url(s.url) })),
  ];
  const proxy = await new Pollbridge({ streams }).start();
  const recorders = [];
  t.after(async () => {
    for (const r of recorders) r.close();
    await proxy.dispose();
    await upstream.stop();
  });
  const connect = (path, options) => {
    const r = new Recorder(proxy.baseUrl + path, options);
    recorders.push(r);
    return r;
  };
  return { upstream, proxy, connect };
}

// The response head and first chunk of a GET that does not ask for
// compression (compression.test.mjs reads compressed streams), then the
// connection is closed.
function firstBytes(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { 'Accept-Encoding': 'identity' } }, (res) => {
      res.setEncoding('utf8');
      res.once('data', (head) => {
        req.destroy();
        resolve({ res, head });
      });
    });
    req.on('error', reject);
  });
}

function applyWithFastJsonPatch(doc, patchText) {
  const patch = JSON.parse(patchText);
  assert.ok(Array.isArray(patch), 'a patch is a JSON array');
  // validate=true: fast-json-patch rejects malformed operations and failed tests.
  return jsonpatch.applyPatch(jsonpatch.deepClone(doc), patch, true).newDocument;
}

describe('pollbridge through an independent EventSource client', () => {
  test('the first event is a snapshot equal to the upstream document, with SSE headers', async (t) => {
    const doc = initialOrders();
    const { proxy, connect } = await setup(t, { doc, stream: { ignore: [] } });

    const { res, head } = await firstBytes(`${proxy.baseUrl}/events/orders`);
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'], /^text\/event-stream/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['x-accel-buffering'], 'no');
    assert.equal(res.headers['content-encoding'], undefined);
    assert.match(head, /^retry: 500\n/, 'the stream opens with retry:');

    const es = connect('/events/orders');
    const [first] = await es.next();
    assert.equal(first.type, 'snapshot');
    assert.ok(first.id, 'the snapshot has an id');
    assert.deepEqual(JSON.parse(first.data), doc);
  });

  test('each change arrives as one patch that fast-json-patch applies to reproduce the upstream', async (t) => {
    const { upstream, connect } = await setup(t, { stream: { ignore: ['/updatedAt'] } });
    const strip = ({ updatedAt, ...rest }) => rest;
    const es = connect('/events/orders');
    const [snapshot] = await es.next();
    assert.equal(snapshot.type, 'snapshot');
    let local = JSON.parse(snapshot.data);
    assert.deepEqual(local, strip(initialOrders()), 'updatedAt is ignored');

    const steps = [
      // a status changes
      (d) => ({ ...d, orders: d.orders.map((o) => (o.id === 2 ? { ...o, status: 'packed' } : o)) }),
      // an order is inserted in the middle
      (d) => ({ ...d, orders: [d.orders[0], order(4, 'new', 12.5, { note: 'a/b~c' }), ...d.orders.slice(1)] }),
      // an order is deleted
      (d) => ({ ...d, orders: d.orders.filter((o) => o.id !== 1) }),
      // the keyed array is reordered (a move) and an element changes at once
      (d) => ({ ...d, orders: [d.orders[2], d.orders[0], { ...d.orders[1], total: 8 }] }),
      // members added and removed at the top level
      (d) => ({ ...d, page: { next: null, size: 3 } }),
      (d) => ({ orders: d.orders }),
    ];
    let doc = initialOrders();
    let previousId = snapshot.id;
    for (const [i, step] of steps.entries()) {
      doc = { ...step(doc), updatedAt: `2024-05-01T10:00:0${i + 1}Z` };
      upstream.set('/api/orders', doc);
      const [event] = await es.next();
      assert.equal(event.type, 'patch', `step ${i}: ${event.data}`);
      assert.notEqual(event.id, previousId);
      previousId = event.id;
      local = applyWithFastJsonPatch(local, event.data);
      assert.deepEqual(local, strip(doc), `step ${i}: the patched document equals the upstream`);
    }
    // The reorder was sent as a move of a keyed element, not a rewrite.
    assert.ok(es.events.some((e) => e.type === 'patch' && JSON.parse(e.data).some((op) => op.op === 'move')));
    await es.expectQuiet(QUIET_MS);
  });

  test('a body that is the same JSON written differently yields no event', async (t) => {
    const body = '{"orders":[{"id":1,"status":"new","total":1.10}],"count":1}';
    const { upstream, connect } = await setup(t, { doc: body, stream: { ignore: [] } });
    const es = connect('/events/orders');
    await es.next();
    const before = upstream.requests;
    upstream.set('/api/orders', '{ "count" : 1,\n  "orders" : [ { "total": 1.1, "status": "new", "id": 1 } ] }\n');
    await waitFor(() => upstream.requests >= before + 3, { what: 'pollbridge to poll the reformatted body' });
    await es.expectQuiet(QUIET_MS);
    upstream.set('/api/orders', '{"orders":[{"id":1,"status":"paid","total":1.10}],"count":1}');
    const [event] = await es.next();
    assert.equal(event.type, 'patch');
    assert.deepEqual(JSON.parse(event.data), [{ op: 'replace', path: '/orders/0/status', value: 'paid' }]);
  });

  test('numbers arrive spelled exactly as the upstream wrote them', async (t) => {
    // The note makes the document larger than the patch below: no event is
    // larger than the snapshot it could be replaced by.
    const note = `"note":"${'.'.repeat(100)}"`;
    const body =
      `{"price":1.10,"weight":1e3,"big":12345678901234567890,"tiny":2.50E-3,"neg":-0.0,"list":[1.0,100,-7],${note}}`;
    const { upstream, connect } = await setup(t, { doc: body, stream: { ignore: [] } });
    const es = connect('/events/orders');
    const [snapshot] = await es.next();
    assert.equal(snapshot.type, 'snapshot');
    for (const token of ['"price":1.10', '"weight":1e3', '"big":12345678901234567890', '"tiny":2.50E-3', '"neg":-0.0', '[1.0,100,-7]']) {
      assert.ok(snapshot.data.includes(token), `snapshot keeps ${token}: ${snapshot.data}`);
    }
    upstream.set(
      '/api/orders',
      `{"price":1.20,"weight":1e3,"big":123456789012345678901234567890,"tiny":2.50E-3,"neg":-0.0,"list":[1.0,100,-7],${note}}`,
    );
    const [patch] = await es.next();
    assert.equal(patch.type, 'patch');
    assert.ok(patch.data.includes('"value":1.20'), patch.data);
    assert.ok(patch.data.includes('"value":123456789012345678901234567890'), patch.data);
  });

  test('reconnecting with Last-Event-ID replays exactly the missed events', async (t) => {
    const { upstream, proxy, connect } = await setup(t);
    const first = connect('/events/orders');
    const [snapshot] = await first.next();
    let doc = initialOrders();
    doc.orders[0].status = 'paid';
    upstream.set('/api/orders', doc);
    const [seen] = await first.next();
    assert.equal(seen.type, 'patch');
    first.close();
    const lastSeen = applyWithFastJsonPatch(JSON.parse(snapshot.data), seen.data);

    // Three changes while the client is away, each picked up by pollbridge.
    const expected = [];
    let info = await proxy.streamInfo('orders');
    for (const change of [
      (d) => d.orders.push(order(9, 'new', 3.3)),
      (d) => d.orders.splice(1, 1),
      (d) => {
        d.orders[0].total = 11;
      },
    ]) {
      doc = structuredClone(doc);
      change(doc);
      upstream.set('/api/orders', doc);
      info = await proxy.waitForEvents('orders', info.events);
      expected.push(info.last_id);
    }

    const resumed = connect('/events/orders', { lastEventId: seen.id });
    const replay = await resumed.next(3);
    assert.deepEqual(
      replay.map((e) => e.type),
      ['patch', 'patch', 'patch'],
    );
    assert.deepEqual(
      replay.map((e) => e.id),
      expected,
      'the ids of the missed events, in order',
    );
    let local = lastSeen;
    for (const e of replay) local = applyWithFastJsonPatch(local, e.data);
    assert.deepEqual(local, doc);
    await resumed.expectQuiet(QUIET_MS);

    // The same resume through ?lastEventId= (a first connection that knows its id).
    const byQuery = connect(`/events/orders?lastEventId=${encodeURIComponent(seen.id)}`);
    assert.deepEqual(
      (await byQuery.next(3)).map((e) => e.id),
      expected,
    );
    await byQuery.expectQuiet(QUIET_MS);

    // An id pollbridge never issued gets a fresh snapshot, not silence.
    const unknown = connect('/events/orders', { lastEventId: 'no-such-id' });
    const [fresh] = await unknown.next();
    assert.equal(fresh.type, 'snapshot');
    assert.deepEqual(JSON.parse(fresh.data), local);
    await unknown.expectQuiet(QUIET_MS);
  });

  test('an upstream failure is reported as stale, the document is kept, and recovery is reported', async (t) => {
    const { upstream, proxy, connect } = await setup(t);
    const es = connect('/events/orders');
    const [snapshot] = await es.next();

    upstream.fail('/api/orders', 503);
    const [stale] = await es.next();
    assert.equal(stale.type, 'status');
    assert.ok(stale.id);
    const staleData = JSON.parse(stale.data);
    assert.equal(staleData.state, 'stale');
    assert.equal(typeof staleData.reason, 'string');
    assert.ok(staleData.reason.length > 0, 'the status says why');
    assert.ok(!Number.isNaN(Date.parse(staleData.since)), `since is a date: ${staleData.since}`);
    // Repeated failures of the same kind do not repeat the event.
    await es.expectQuiet(QUIET_MS);

    // The last good document is still served.
    const res = await fetch(`${proxy.baseUrl}/streams/orders`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-pollbridge-state'), 'stale');
    assert.deepEqual(await res.json(), JSON.parse(snapshot.data));

    // Recovery with a changed document: an ok status and the patch.
    const doc = initialOrders();
    doc.orders[2].status = 'shipped';
    upstream.set('/api/orders', doc);
    upstream.recover('/api/orders');
    const events = await es.next(2);
    const status = events.find((e) => e.type === 'status');
    const patch = events.find((e) => e.type === 'patch');
    assert.ok(status && patch, `a status and a patch: ${events.map((e) => e.type)}`);
    assert.equal(JSON.parse(status.data).state, 'ok');
    assert.deepEqual(applyWithFastJsonPatch(JSON.parse(snapshot.data), patch.data), doc);
    await es.expectQuiet(QUIET_MS);
  });

  test('a multiplexed connection wraps each payload and resumes every stream with a composite id', async (t) => {
    const { upstream, connect } = await setup(t, {
      extraStreams: [{ name: 'board', url: '/api/board', diff: 'text' }],
      routes: { '/api/board': ['new 1\npaid 1\n', 'text/plain'] },
    });
    const es = connect('/events?stream=orders&stream=board');
    const snapshots = await es.next(2);
    const byStream = Object.fromEntries(snapshots.map((e) => [JSON.parse(e.data).stream, e]));
    assert.deepEqual(Object.keys(byStream).sort(), ['board', 'orders']);
    for (const e of snapshots) assert.equal(e.type, 'snapshot');
    assert.deepEqual(JSON.parse(byStream.orders.data).data, initialOrders());
    assert.equal(JSON.parse(byStream.board.data).data, 'new 1\npaid 1\n');
    const last = snapshots[1].id;
    assert.equal(last.split(',').length, 2, `a composite id: ${last}`);

    es.close();
    upstream.set('/api/board', 'new 0\npaid 2\n', 'text/plain');
    const doc = initialOrders();
    doc.orders.pop();
    upstream.set('/api/orders', doc);

    const resumed = connect('/events?stream=orders&stream=board', { lastEventId: last });
    const missed = await resumed.next(2);
    const wrapped = missed.map((e) => ({ type: e.type, ...JSON.parse(e.data) }));
    const board = wrapped.find((e) => e.stream === 'board');
    const orders = wrapped.find((e) => e.stream === 'orders');
    assert.ok(board && orders, JSON.stringify(wrapped));
    assert.equal(board.type, 'snapshot');
    assert.equal(board.data, 'new 0\npaid 2\n');
    assert.equal(orders.type, 'patch');
    assert.deepEqual(jsonpatch.applyPatch(initialOrders(), orders.data, true).newDocument, doc);
    await resumed.expectQuiet(QUIET_MS);
  });

  test('an unchanged document answered with 304 Not Modified keeps the stream ok', async (t) => {
    // A legacy API with ETags, answering If-None-Match with a 304 as Node
    // does: no Content-Length, since a 304 never has content (RFC 9112 6.3).
    const upstream = await new FakeUpstream({ etag: true }).start();
    upstream.set('/api/orders', initialOrders());
    const proxy = await new Pollbridge({
      streams: [{ name: 'orders', url: upstream.url('/api/orders'), interval: INTERVAL, timeout: '1s' }],
    }).start();
    const es = new Recorder(`${proxy.baseUrl}/events/orders`);
    t.after(async () => {
      es.close();
      await proxy.dispose();
      await upstream.stop();
    });
    const [snapshot] = await es.next();
    assert.equal(snapshot.type, 'snapshot');
    await waitFor(() => upstream.notModified >= 3, { what: 'three conditional polls answered 304' });
    // Several stream timeouts long: a 304 read as "body until close" would
    // have timed out and turned the stream stale by now.
    await es.expectQuiet(2500);
    const info = await proxy.streamInfo('orders');
    assert.equal(info.state, 'ok', `stream state after 304s: ${JSON.stringify(info)}`);
    assert.ok(info.not_modified >= 3, `not_modified counted: ${info.not_modified}`);
    const doc = initialOrders();
    doc.orders[0].status = 'paid';
    upstream.set('/api/orders', doc);
    const [patch] = await es.next();
    assert.equal(patch.type, 'patch');
  });

  test('a multi-line text body arrives intact', async (t) => {
    const body = 'ORDER BOARD\n\nnew    2\npaid   1: "quoted" {not json}\nid: not a field\n';
    const { connect } = await setup(t, {
      doc: body,
      stream: { diff: 'text', key: '' },
    });
    const es = connect('/events/orders');
    const [snapshot] = await es.next();
    assert.equal(snapshot.type, 'snapshot');
    assert.equal(snapshot.data, body);
  });
});
