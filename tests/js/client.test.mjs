// Unit tests of the shipped client (clients/js/pollbridge.js) in Node: the
// appliers (RFC 6901, 6902, 7386, items events) and the state machine of
// watch(), driven through a scripted EventSource and fetch so that every
// transition is reached on purpose. The real binary is in the other files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PatchError,
  VERSION,
  applyItemEvent,
  applyMergePatch,
  applyPatch,
  equal,
  keyPointer,
  parsePointer,
  watch,
} from '../../clients/js/pollbridge.js';
import pollbridge from '../../clients/js/pollbridge.js';
import { waitFor } from './lib/harness.mjs';
import { ScriptedEventSource } from './lib/scripted.mjs';

const apply = (doc, ...ops) => applyPatch(doc, ops);
const rejects = (doc, ops, pattern) =>
  assert.throws(
    () => applyPatch(doc, ops),
    (e) => e instanceof PatchError && pattern.test(e.message),
  );

describe('JSON Pointer', () => {
  test('tokens are unescaped ~1 first, then ~0', () => {
    assert.deepEqual(parsePointer(''), []);
    assert.deepEqual(parsePointer('/'), ['']);
    assert.deepEqual(parsePointer('/a~1b/m~0n/~01'), ['a/b', 'm~n', '~1']);
  });
  test('malformed pointers are rejected', () => {
    for (const p of ['a', '/a~2', '/a~', 5, null]) assert.throws(() => parsePointer(p), PatchError, String(p));
  });
  test('a key option becomes a pointer', () => {
    assert.equal(keyPointer(), '/id');
    assert.equal(keyPointer('sku'), '/sku');
    assert.equal(keyPointer('a/b~c'), '/a~1b~0c');
    assert.equal(keyPointer('/meta/id'), '/meta/id');
  });
});

describe('applyPatch (RFC 6902)', () => {
  test('add: object members, array inserts, "-" and the root', () => {
    assert.deepEqual(apply({ a: 1 }, { op: 'add', path: '/b', value: [1] }), { a: 1, b: [1] });
    assert.deepEqual(apply({ a: 1 }, { op: 'add', path: '/a', value: 2 }), { a: 2 }, 'add replaces a member');
    assert.deepEqual(apply([1, 3], { op: 'add', path: '/1', value: 2 }), [1, 2, 3]);
    assert.deepEqual(apply([1], { op: 'add', path: '/1', value: 2 }), [1, 2], 'index == length appends');
    assert.deepEqual(apply([1], { op: 'add', path: '/-', value: 2 }), [1, 2]);
    assert.deepEqual(apply({ a: 1 }, { op: 'add', path: '', value: [0] }), [0]);
    assert.deepEqual(apply({ '': 1 }, { op: 'add', path: '/', value: 2 }), { '': 2 });
    assert.deepEqual(
      apply({ 'a/b': 1, '~': 2 }, { op: 'add', path: '/a~1b', value: 3 }, { op: 'add', path: '/~0', value: 4 }),
      { 'a/b': 3, '~': 4 },
    );
  });

  test('array indexes are strict', () => {
    rejects([1, 2], [{ op: 'add', path: '/3', value: 0 }], /no index 3/);
    rejects([1, 2], [{ op: 'add', path: '/01', value: 0 }], /no index 01/);
    rejects([1, 2], [{ op: 'add', path: '/-1', value: 0 }], /no index -1/);
    rejects([1, 2], [{ op: 'replace', path: '/2', value: 0 }], /no index 2/);
    rejects([1, 2], [{ op: 'remove', path: '/-' }], /no index -/);
    rejects([1, 2], [{ op: 'replace', path: '/1e0', value: 0 }], /no index 1e0/);
    rejects({ a: [] }, [{ op: 'add', path: '/a/0/x', value: 0 }], /no index 0/);
  });

  test('remove and replace need an existing target; replace keeps the member in place', () => {
    assert.deepEqual(apply({ a: 1, b: 2 }, { op: 'remove', path: '/a' }), { b: 2 });
    assert.deepEqual(apply([1, 2, 3], { op: 'remove', path: '/1' }), [1, 3]);
    assert.deepEqual(apply([1, 2, 3], { op: 'replace', path: '/1', value: 9 }), [1, 9, 3]);
    assert.deepEqual(apply({ a: 1 }, { op: 'replace', path: '/a', value: null }), { a: null });
    assert.deepEqual(apply({ a: 1 }, { op: 'replace', path: '', value: 'x' }), 'x');
    assert.deepEqual(Object.keys(apply({ a: 1, b: 2, c: 3 }, { op: 'replace', path: '/b', value: 0 })), ['a', 'b', 'c']);
    rejects({ a: 1 }, [{ op: 'remove', path: '/b' }], /no b/);
    rejects({ a: 1 }, [{ op: 'replace', path: '/b', value: 1 }], /no b/);
    rejects({ a: 1 }, [{ op: 'add', path: '/x/y', value: 1 }], /no x/);
    rejects({ a: 1 }, [{ op: 'add', path: '/a/y', value: 1 }], /not in an object or array/);
    rejects({ a: 1 }, [{ op: 'remove', path: '' }], /root/);
  });

  test('move and copy', () => {
    assert.deepEqual(apply({ a: { b: 1 }, c: {} }, { op: 'move', from: '/a/b', path: '/c/d' }), { a: {}, c: { d: 1 } });
    assert.deepEqual(apply([1, 2, 3, 4], { op: 'move', from: '/1', path: '/3' }), [1, 3, 4, 2], 'the index counts after the removal');
    assert.deepEqual(apply([1, 2, 3], { op: 'move', from: '/2', path: '/0' }), [3, 1, 2]);
    // A move is a remove, then an add (RFC 6902 4.4): after the removal the
    // array is shorter. (fast-json-patch accepts this one.)
    rejects([1, 2], [{ op: 'move', from: '/0', path: '/2' }], /no index 2 in an array of 1/);
    assert.deepEqual(apply([1, 2], { op: 'move', from: '/0', path: '/1' }), [2, 1]);
    // The target is resolved after the removal: here /1 is the object then.
    // (fast-json-patch refuses this one.)
    assert.deepEqual(apply([1, 2, { a: 0 }], { op: 'move', from: '/0', path: '/1/b' }), [2, { a: 0, b: 1 }]);
    assert.deepEqual(apply({ a: 1 }, { op: 'move', from: '/a', path: '/a' }), { a: 1 });
    assert.deepEqual(apply({ a: [1] }, { op: 'copy', from: '/a', path: '/b' }), { a: [1], b: [1] });
    const copied = apply({ a: { x: 1 } }, { op: 'copy', from: '/a', path: '/b' }, { op: 'replace', path: '/b/x', value: 2 });
    assert.deepEqual(copied, { a: { x: 1 }, b: { x: 2 } }, 'a copy is not an alias');
    rejects({ a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], /into itself/);
    rejects({ a: 1 }, [{ op: 'move', from: '/x', path: '/y' }], /no x/);
    rejects({ a: 1 }, [{ op: 'move', from: '/x', path: '/x' }], /no x/);
    rejects({ a: 1 }, [{ op: 'copy', path: '/y' }], /needs "from"/);
  });

  test('test compares JSON values, not member order', () => {
    assert.deepEqual(apply({ a: { x: 1, y: [1, 'b'] } }, { op: 'test', path: '/a', value: { y: [1, 'b'], x: 1 } }), {
      a: { x: 1, y: [1, 'b'] },
    });
    assert.deepEqual(apply({ a: null }, { op: 'test', path: '/a', value: null }), { a: null });
    rejects({ a: [1, 2] }, [{ op: 'test', path: '/a', value: [2, 1] }], /test failed/);
    rejects({ a: 1 }, [{ op: 'test', path: '/a', value: '1' }], /test failed/);
    rejects({ a: {} }, [{ op: 'test', path: '/a', value: [] }], /test failed/);
    rejects({ a: 1 }, [{ op: 'test', path: '/a' }], /needs "value"/);
  });

  test('malformed operations are rejected', () => {
    rejects({}, [{ op: 'frobnicate', path: '' }], /unknown op/);
    rejects({}, [{ path: '/a', value: 1 }], /needs "op"/);
    rejects({}, [{ op: 'add', value: 1 }], /needs "path"/);
    rejects({}, [{ op: 'add', path: '/a' }], /needs "value"/);
    rejects({}, [{ op: 'add', path: 5, value: 1 }], /needs "path"/);
    rejects({}, ['add'], /must be an object/);
    assert.throws(() => applyPatch({}, { op: 'add' }), /must be an array/);
  });

  test('a failing patch changes nothing (all or nothing) and names the operation', () => {
    const doc = { a: [1, 2], b: { c: 1 } };
    const before = structuredClone(doc);
    assert.throws(
      () => applyPatch(doc, [{ op: 'remove', path: '/a/0' }, { op: 'add', path: '/b/d', value: 1 }, { op: 'test', path: '/b/c', value: 2 }]),
      (e) => e instanceof PatchError && /^operation 2: /.test(e.message) && e.name === 'PatchError',
    );
    assert.deepEqual(doc, before);
    const result = applyPatch(doc, [{ op: 'remove', path: '/a/0' }]);
    assert.deepEqual(doc, before, 'a successful patch does not modify its input either');
    assert.deepEqual(result, { a: [2], b: { c: 1 } });
  });

  test('"__proto__" is an ordinary member name', () => {
    const doc = apply({}, { op: 'add', path: '/__proto__', value: { polluted: true } });
    assert.equal(Object.getPrototypeOf(doc), Object.prototype);
    assert.deepEqual(Object.keys(doc), ['__proto__']);
    assert.equal({}.polluted, undefined);
    assert.deepEqual(apply(doc, { op: 'replace', path: '/__proto__', value: 1 }), JSON.parse('{"__proto__":1}'));
    assert.deepEqual(apply(doc, { op: 'remove', path: '/__proto__' }), {});
    const merged = applyMergePatch({}, JSON.parse('{"__proto__":{"x":1}}'));
    assert.equal(Object.getPrototypeOf(merged), Object.prototype);
    assert.equal({}.x, undefined);
  });
});

describe('applyMergePatch (RFC 7386, the cases of its appendix A)', () => {
  const cases = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of cases) {
    test(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
      const before = structuredClone(target);
      assert.deepEqual(applyMergePatch(target, patch), expected);
      assert.deepEqual(target, before, 'the target is not modified');
    });
  }
});

describe('items events', () => {
  const list = [{ id: 1, s: 'a' }, { id: 2, s: 'b' }];
  test('created, updated and deleted by key, placed by index', () => {
    let doc = applyItemEvent(list, 'created', { key: 3, index: 1, value: { id: 3, s: 'c' } });
    assert.deepEqual(doc.map((x) => x.id), [1, 3, 2]);
    doc = applyItemEvent(doc, 'updated', { key: 1, index: 2, value: { id: 1, s: 'z' }, patch: [] });
    assert.deepEqual(doc, [{ id: 3, s: 'c' }, { id: 2, s: 'b' }, { id: 1, s: 'z' }]);
    doc = applyItemEvent(doc, 'deleted', { key: 2 });
    assert.deepEqual(doc.map((x) => x.id), [3, 1]);
    assert.deepEqual(list, [{ id: 1, s: 'a' }, { id: 2, s: 'b' }], 'the input is not modified');
  });
  test('keys keep their JSON type; pointers and member names both work', () => {
    assert.deepEqual(applyItemEvent([{ m: { k: '1' } }, { m: { k: 1 } }], 'deleted', { key: '1' }, '/m/k'), [{ m: { k: 1 } }]);
    assert.deepEqual(applyItemEvent([{ sku: 'a' }, { sku: 'b' }], 'deleted', { key: 'a' }, 'sku'), [{ sku: 'b' }]);
  });
  test('bad events are refused', () => {
    assert.throws(() => applyItemEvent({}, 'deleted', { key: 1 }), PatchError);
    assert.throws(() => applyItemEvent([], 'created', { key: 1 }), /bad data/);
    assert.throws(() => applyItemEvent([], 'deleted', {}), /bad data/);
  });
});

test('equal ignores member order only', () => {
  assert.ok(equal({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  assert.ok(!equal([1, 2], [2, 1]));
  assert.ok(!equal({ a: undefined }, {}));
  assert.ok(!equal({ a: 1 }, [1]));
});

test('the default export carries the API', () => {
  assert.equal(pollbridge.VERSION, VERSION);
  assert.equal(pollbridge.watch, watch);
  assert.match(VERSION, /^\d+\.\d+\.\d+$/);
});

// --- the state machine -----------------------------------------------------


// base64url of a JSON value (a JWT segment).
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

// A fetch for the EventSource transport's probe: answers `status`.
const probeAnswering = (status, seen = []) => async (url, init) => {
  seen.push({ url, init });
  if (status === 0) throw new TypeError('fetch failed');
  return { status };
};

function scripted(url, options = {}) {
  ScriptedEventSource.all = [];
  const log = { changes: [], statuses: [], errors: [] };
  const w = watch(url, {
    shared: false,
    EventSource: ScriptedEventSource,
    fetch: probeAnswering(0),
    onChange: (doc, change) => log.changes.push({ doc: structuredClone(doc), ...change }),
    onStatus: (s) => log.statuses.push(s.state + (s.reason ? `: ${s.reason}` : '')),
    onError: (e) => log.errors.push(e.message),
    ...options,
  });
  return { w, log, es: ScriptedEventSource.last() };
}

const query = (url) => new URL(url).searchParams;

describe('watch() state machine', () => {
  test('one stream: the multiplexed endpoint, every event type, and the status', async () => {
    const { w, log, es } = scripted('http://pb.test/base/events/orders', { key: 'sku' });
    assert.equal(es.url, 'http://pb.test/base/events?stream=orders');
    assert.deepEqual(log.statuses, [], 'no callback before watch() returns');
    await Promise.resolve();
    assert.deepEqual(log.statuses, ['reconnecting: connecting']);
    es.open();
    es.emit('snapshot', 'e-1', 'orders', [{ sku: 'a', n: 1 }]);
    es.emit('created', 'e-2', 'orders', { key: 'b', index: 0, value: { sku: 'b', n: 2 } });
    es.emit('updated', 'e-3', 'orders', { key: 'a', index: 1, value: { sku: 'a', n: 3 }, patch: [] });
    es.emit('deleted', 'e-4', 'orders', { key: 'b' });
    es.emit('patch', 'e-5', 'orders', [{ op: 'add', path: '/-', value: { sku: 'c' } }]);
    es.emit('merge-patch', 'e-6', 'orders', { x: 1 });
    es.emit('status', 'e-7', 'orders', { state: 'stale', reason: 'upstream answered HTTP 503', http_status: 503 });
    es.emit('status', 'e-8', 'orders', { state: 'ok' });
    assert.deepEqual(w.document, { x: 1 });
    assert.deepEqual(log.changes.map((c) => `${c.type} ${c.id}`), [
      'snapshot e-1', 'created e-2', 'updated e-3', 'deleted e-4', 'patch e-5', 'merge-patch e-6',
    ]);
    assert.deepEqual(log.changes[3].doc, [{ sku: 'a', n: 3 }]);
    assert.equal(log.changes[0].stream, 'orders');
    assert.deepEqual(log.statuses, ['reconnecting: connecting', 'live', 'stale: upstream answered HTTP 503', 'live']);
    assert.deepEqual(w.status.streams.orders, { state: 'ok' });
    assert.equal(w.lastEventId, 'e-8');
    assert.equal(w.leader, true);
    assert.deepEqual(log.errors, []);
    w.close();
    assert.ok(es.closed);
  });

  test('several streams: documents by stream, text kept exactly, a composite position', () => {
    const { w, log, es } = scripted('http://pb.test/events?stream=b&stream=a&stream=b&x=1');
    assert.deepEqual(w.streams, ['b', 'a']);
    assert.deepEqual([...query(es.url)], [['x', '1'], ['stream', 'b'], ['stream', 'a']]);
    es.open();
    es.emit('snapshot', '1-1,', 'b', 'line\r\nboard');
    es.emit('snapshot', '1-1,2-1', 'a', { v: 1 });
    es.emit('patch', '1-1,2-2', 'a', [{ op: 'replace', path: '/v', value: 2 }]);
    assert.deepEqual(w.documents, { b: 'line\r\nboard', a: { v: 2 } });
    assert.equal(w.document, 'line\r\nboard');
    assert.equal(w.lastEventId, '1-1,2-2');
    es.emit('status', '1-2,2-2', 'b', { state: 'stale', reason: 'cannot connect' });
    assert.equal(log.statuses.at(-1), 'stale: b: cannot connect');
    w.close();
  });

  test('events seen already are skipped; an older snapshot is the document held', () => {
    const { w, log, es } = scripted('http://pb.test/events/s');
    es.open();
    es.emit('snapshot', 'e-5', 's', { v: 5 });
    es.emit('status', 'e-7', 's', { state: 'stale', reason: 'r' }); // its latest status may skip ids
    es.emit('patch', 'e-8', 's', [{ op: 'replace', path: '/v', value: 8 }]);
    es.emit('patch', 'e-8', 's', [{ op: 'replace', path: '/v', value: 'twice' }]);
    es.emit('patch', 'e-6', 's', [{ op: 'replace', path: '/v', value: 'older' }]);
    es.emit('snapshot', 'e-5', 's', { v: 'old' });
    assert.deepEqual(w.document, { v: 8 });
    assert.deepEqual(log.changes.map((c) => c.id), ['e-5', 'e-8']);
    es.emit('snapshot', 'f-1', 's', { v: 'another epoch' });
    assert.deepEqual(w.document, { v: 'another epoch' });
    assert.deepEqual(log.errors, []);
    w.close();
  });

  test('a status pollbridge could not record (no id) changes the status, not the position', async () => {
    const { w, log, es } = scripted('http://pb.test/events?stream=a&stream=b');
    es.open();
    es.emit('snapshot', 'a-4,', 'a', { v: 4 });
    es.emit('snapshot', 'a-4,b-1', 'b', 1);
    // No id: line, so the last event id stays the previous composite (docs/protocol.md).
    const cannot = { state: 'stale', reason: 'state store cannot record events: no space left', recording: false };
    es.emit('status', 'a-4,b-1', 'a', cannot);
    await waitFor(() => log.statuses.at(-1) === 'stale: a: state store cannot record events: no space left');
    es.emit('status', 'a-4,b-1', 'a', cannot); // the same again: nothing new
    assert.equal(w.lastEventId, 'a-4,b-1');
    // Recording again: a recorded "ok" with the next id, then the changes.
    es.emit('status', 'a-5,b-1', 'a', { state: 'ok' });
    es.emit('patch', 'a-6,b-1', 'a', [{ op: 'replace', path: '/v', value: 6 }]);
    assert.deepEqual(w.document, { v: 6 });
    assert.equal(log.statuses.at(-1), 'live');
    // On a connection that never had an id for the stream, the part is empty.
    es.emit('status', 'a-6,', 'b', cannot);
    assert.equal(w.lastEventId, 'a-6,b-1', 'an empty part never erases a position');
    assert.equal(w.status.state, 'stale');
    assert.deepEqual(log.errors, []);
    w.close();
  });

  test('a gap or a patch that does not apply resyncs that stream only', async () => {
    const { w, log, es } = scripted('http://pb.test/events?stream=a&stream=b');
    es.open();
    es.emit('snapshot', 'a-1,', 'a', { v: 1 });
    es.emit('snapshot', 'a-1,b-1', 'b', { w: 1 });
    es.emit('patch', 'a-3,b-1', 'a', [{ op: 'replace', path: '/v', value: 3 }]); // a-2 is missing
    assert.deepEqual(log.errors, ['missed events between a-1 and a-3']);
    assert.ok(es.closed, 'the connection is replaced at once');
    const again = await ScriptedEventSource.next(2);
    assert.equal(query(again.url).get('lastEventId'), ',b-1', "a fresh snapshot of a, b resumed");
    assert.deepEqual(w.documents, { b: { w: 1 } }, 'the broken copy is dropped');
    again.open();
    again.emit('snapshot', 'a-3,b-1', 'a', { v: 3 });
    again.emit('patch', 'a-3,b-2', 'b', [{ op: 'test', path: '/w', value: 9 }]);
    assert.match(log.errors[1], /test failed/);
    const third = await ScriptedEventSource.next(3);
    assert.equal(query(third.url).get('lastEventId'), 'a-3,');
    assert.deepEqual(w.documents, { a: { v: 3 } });
    third.open();
    third.raw('patch', 'a-4,b-1', 'not json');
    assert.match(log.errors[2], /bad event patch/);
    assert.equal(ScriptedEventSource.all.length, 3, 'a stray event does not reconnect');
    w.close();
  });

  test('a lost connection reconnects after a delay, resuming every stream', async () => {
    const { w, log, es } = scripted('http://pb.test/events?stream=a&stream=b');
    es.open();
    es.emit('snapshot', 'a-1,', 'a', 1);
    es.emit('snapshot', 'a-1,b-4', 'b', 2);
    es.fail();
    await waitFor(() => log.statuses.at(-1) === 'reconnecting: connection lost');
    const started = Date.now();
    const again = await ScriptedEventSource.next(2);
    assert.ok(Date.now() - started >= 900, 'about a second later (1 s, +0..50%)');
    assert.equal(query(again.url).get('lastEventId'), 'a-1,b-4');
    again.open();
    assert.equal(log.statuses.at(-1), 'live');
    w.close();
  });

  test('an HTTP error is read by a probe; 400/404 isolates the refused stream', async () => {
    const seen = [];
    const { w, log, es } = scripted('http://pb.test/events?stream=good&stream=bad%2Fx', {
      fetch: async (url, init) => {
        seen.push(url);
        return { status: /bad/.test(url) ? 404 : 200 };
      },
    });
    // The union was refused (as pollbridge does when one stream is unknown).
    seen.length = 0;
    const probe404 = es;
    probe404.onerror();
    await waitFor(() => ScriptedEventSource.all.length === 2, { what: 'the reconnect without the bad stream' });
    assert.deepEqual(seen.slice(1), ['http://pb.test/events/good', 'http://pb.test/events/bad/x']);
    const rest = ScriptedEventSource.all[1];
    assert.deepEqual(query(rest.url).getAll('stream'), ['good']);
    rest.open();
    rest.emit('snapshot', 'g-1', 'good', { ok: true });
    assert.deepEqual(w.documents, { good: { ok: true } });
    assert.equal(log.statuses.at(-1), 'reconnecting: bad/x: HTTP 404');
    w.close();
  });

  test('a token goes in the query, under the configured name; one in the URL is taken as the token', () => {
    let { w, es } = scripted('http://pb.test/events/s', { token: 'se cret' });
    assert.equal(query(es.url).get('access_token'), 'se cret');
    w.close();
    ({ w, es } = scripted('http://pb.test/events/s', { token: 't', tokenParam: 'jwt' }));
    assert.equal(query(es.url).get('jwt'), 't');
    assert.equal(query(es.url).has('access_token'), false);
    w.close();
    ({ w, es } = scripted('http://pb.test/events/s?access_token=from-url&lastEventId=x-1'));
    assert.equal(query(es.url).get('access_token'), 'from-url');
    assert.equal(query(es.url).has('lastEventId'), false, 'a start id without its document means nothing here');
    w.close();
  });

  test('401: the token function is asked again and the place is kept; still 401 is unauthorized', async () => {
    let n = 0;
    const { w, log, es } = scripted('http://pb.test/events/s', {
      token: async () => `t${++n}`,
      fetch: probeAnswering(401),
    });
    await waitFor(() => ScriptedEventSource.all.length === 1);
    const first = ScriptedEventSource.all[0];
    assert.equal(query(first.url).get('access_token'), 't1');
    first.open();
    first.emit('snapshot', 'e-3', 's', { v: 3 });
    first.fail(); // the open connection ends: a plain reconnect, same token
    const second = await ScriptedEventSource.next(2);
    assert.equal(query(second.url).get('access_token'), 't1');
    second.onerror(); // never opened; the probe says 401
    const third = await ScriptedEventSource.next(3);
    assert.equal(n, 2, 'asked once more');
    assert.equal(query(third.url).get('access_token'), 't2');
    assert.equal(query(third.url).get('lastEventId'), 'e-3', 'the place is kept');
    third.onerror(); // 401 again, right after a fresh token
    await waitFor(() => log.statuses.at(-1) === 'unauthorized: HTTP 401');
    const fourth = await ScriptedEventSource.next(4);
    assert.equal(query(fourth.url).get('access_token'), 't3', 'each retry asks again');
    fourth.open();
    assert.equal(log.statuses.at(-1), 'live');
    assert.deepEqual(w.document, { v: 3 });
    w.close();
    void es;
  });

  test('a token function that throws is unauthorized and retried', async () => {
    let calls = 0;
    const { w, log } = scripted('http://pb.test/events/s', {
      token: async () => {
        if (++calls === 1) throw new Error('login expired');
        return 'ok';
      },
    });
    await waitFor(() => log.statuses.includes('unauthorized: token: login expired'));
    const es = await ScriptedEventSource.next(1);
    assert.equal(query(es.url).get('access_token'), 'ok');
    w.close();
  });

  test('page callbacks that throw do not break the client', async () => {
    const { w, es } = scripted('http://pb.test/events/s', {
      onChange: () => {
        throw new Error('page bug');
      },
    });
    const reported = [];
    globalThis.reportError = (e) => reported.push(e.message); // as browsers have it
    try {
      es.open();
      es.emit('snapshot', 'e-1', 's', 1);
      es.emit('patch', 'e-2', 's', [{ op: 'replace', path: '', value: 2 }]);
      assert.equal(w.document, 2);
      assert.deepEqual(reported, ['page bug', 'page bug']);
    } finally {
      delete globalThis.reportError;
      w.close();
    }
  });

  test('format: a query parameter of the connection; unknown ones are refused', () => {
    let { w, es } = scripted('http://pb.test/events?stream=a&stream=b', { format: 'merge-patch' });
    assert.equal(query(es.url).get('format'), 'merge-patch');
    assert.deepEqual(query(es.url).getAll('stream'), ['a', 'b']);
    w.close();
    ({ w, es } = scripted('http://pb.test/events/s?format=snapshot'));
    assert.equal(query(es.url).get('format'), 'snapshot', 'one in the URL is kept');
    w.close();
    ({ w, es } = scripted('http://pb.test/events/s'));
    assert.equal(query(es.url).has('format'), false, 'none by default: the stream\'s own');
    w.close();
    for (const format of ['xml', '', 'JSON-PATCH', 1]) {
      assert.throws(() => watch('http://pb.test/events/s', { shared: false, format }), TypeError, String(format));
    }
  });

  test('a snapshot-format stream takes every snapshot, ids that skip included', () => {
    const { w, log, es } = scripted('http://pb.test/events/s', { format: 'snapshot' });
    es.open();
    es.emit('snapshot', 'e-1', 's', { v: 1 });
    es.emit('snapshot', 'e-4', 's', { v: 4 }); // an items change of three events is one snapshot
    es.emit('status', 'e-5', 's', { state: 'stale', reason: 'down' });
    es.emit('snapshot', 'e-6', 's', { v: 6 });
    assert.deepEqual(w.document, { v: 6 });
    assert.deepEqual(log.errors, []);
    assert.equal(ScriptedEventSource.all.length, 1, 'no resynchronisation');
    w.close();
  });

  test('a stream closed once its JWT expired reconnects at once with a fresh token, from its place', async () => {
    const jwt = (exp) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'u', exp })}.c2ln`;
    const now = Math.floor(Date.now() / 1000);
    const issued = [jwt(now - 1), jwt(now + 3600)];
    let calls = 0;
    const { w, log } = scripted('http://pb.test/events/s', { token: async () => issued[calls++] });
    const first = await ScriptedEventSource.next(1);
    assert.equal(query(first.url).get('access_token'), issued[0]);
    first.open();
    first.emit('snapshot', 'e-3', 's', { v: 3 });
    const started = Date.now();
    first.fail(); // the server closes the stream at the token's expiry
    const second = await ScriptedEventSource.next(2);
    assert.ok(Date.now() - started < 500, 'without the reconnect delay');
    assert.equal(calls, 2, 'the token function was asked again');
    assert.equal(query(second.url).get('access_token'), issued[1]);
    assert.equal(query(second.url).get('lastEventId'), 'e-3', 'the place is kept');
    second.open();
    second.emit('patch', 'e-4', 's', [{ op: 'replace', path: '/v', value: 4 }]);
    assert.deepEqual(w.document, { v: 4 });
    assert.ok(!log.statuses.some((s) => s.startsWith('unauthorized')));
    // A token that has not expired: a lost connection is a plain reconnect
    // after the delay, with the same token.
    second.fail();
    const third = await ScriptedEventSource.next(3);
    assert.ok(Date.now() - started >= 900, 'after the reconnect delay');
    assert.equal(calls, 2);
    assert.equal(query(third.url).get('access_token'), issued[1]);
    w.close();
  });

  test('an expired token that the function gives again ends as unauthorized, not in a loop', async () => {
    const expired = `${b64({ alg: 'HS256' })}.${b64({ exp: 1 })}.c2ln`;
    let calls = 0;
    const { w, log } = scripted('http://pb.test/events/s', {
      token: async () => {
        calls++;
        return expired;
      },
      fetch: probeAnswering(401),
    });
    const first = await ScriptedEventSource.next(1);
    first.open();
    first.emit('snapshot', 'e-1', 's', 1);
    first.fail(); // closed at expiry: asks again at once
    const second = await ScriptedEventSource.next(2);
    second.onerror(); // 401 (the probe): asks again once more
    const third = await ScriptedEventSource.next(3);
    third.onerror(); // 401 again: reported, and retried later
    await waitFor(() => log.statuses.at(-1) === 'unauthorized: HTTP 401');
    assert.equal(calls, 3);
    assert.equal(ScriptedEventSource.all.length, 3);
    w.close();
  });

  test('URLs that name no stream are refused', () => {
    for (const url of ['http://pb.test/events', 'http://pb.test/other/orders', 'http://pb.test/events?x=1']) {
      assert.throws(() => watch(url, { shared: false }), TypeError, url);
    }
  });
});
