// Unit tests of the browser client module (examples/web/pollbridge-client.js)
// in Node: its RFC 6902 applier, RFC 7386 merge patch, items events, and the
// client's handling of a scripted event sequence (with a fake EventSource).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { readFileSync } from 'node:fs';

// The module is plain browser JavaScript in a folder without a package.json,
// which Node 18 would load as CommonJS: import its source as an ES module.
const source = readFileSync(new URL('../../examples/web/pollbridge-client.js', import.meta.url));
const {
  JsonPatchError,
  PollbridgeClient,
  applyItemEvent,
  applyJsonPatch,
  applyMergePatch,
  jsonEqual,
  parsePointer,
} = await import('data:text/javascript;base64,' + source.toString('base64'));

const apply = (doc, ...ops) => applyJsonPatch(doc, ops);
const rejects = (doc, ops, pattern) => assert.throws(() => applyJsonPatch(doc, ops), (e) => e instanceof JsonPatchError && pattern.test(e.message));

describe('JSON Pointer', () => {
  test('tokens are unescaped ~1 first, then ~0', () => {
    assert.deepEqual(parsePointer(''), []);
    assert.deepEqual(parsePointer('/'), ['']);
    assert.deepEqual(parsePointer('/a~1b/m~0n/~01'), ['a/b', 'm~n', '~1']);
  });
  test('malformed pointers are rejected', () => {
    assert.throws(() => parsePointer('a'), JsonPatchError);
    assert.throws(() => parsePointer('/a~2'), JsonPatchError);
    assert.throws(() => parsePointer('/a~'), JsonPatchError);
  });
});

describe('applyJsonPatch (RFC 6902)', () => {
  test('add: object members, array inserts, "-" and the root', () => {
    assert.deepEqual(apply({ a: 1 }, { op: 'add', path: '/b', value: [1] }), { a: 1, b: [1] });
    assert.deepEqual(apply({ a: 1 }, { op: 'add', path: '/a', value: 2 }), { a: 2 }, 'add replaces a member');
    assert.deepEqual(apply([1, 3], { op: 'add', path: '/1', value: 2 }), [1, 2, 3]);
    assert.deepEqual(apply([1], { op: 'add', path: '/1', value: 2 }), [1, 2], 'index == length appends');
    assert.deepEqual(apply([1], { op: 'add', path: '/-', value: 2 }), [1, 2]);
    assert.deepEqual(apply({ a: 1 }, { op: 'add', path: '', value: [0] }), [0]);
    assert.deepEqual(apply({ '': 1 }, { op: 'add', path: '/', value: 2 }), { '': 2 });
    assert.deepEqual(apply({ 'a/b': 1, '~': 2 }, { op: 'add', path: '/a~1b', value: 3 }, { op: 'add', path: '/~0', value: 4 }), { 'a/b': 3, '~': 4 });
  });

  test('array indexes are strict', () => {
    rejects([1, 2], [{ op: 'add', path: '/3', value: 0 }], /out of range/);
    rejects([1, 2], [{ op: 'add', path: '/01', value: 0 }], /not an array index/);
    rejects([1, 2], [{ op: 'add', path: '/-1', value: 0 }], /not an array index/);
    rejects([1, 2], [{ op: 'replace', path: '/2', value: 0 }], /out of range/);
    rejects([1, 2], [{ op: 'remove', path: '/-' }], /"-"/);
    rejects([1, 2], [{ op: 'replace', path: '/1e0', value: 0 }], /not an array index/);
    rejects({ a: [] }, [{ op: 'add', path: '/a/0/x', value: 0 }], /out of range/);
  });

  test('remove and replace need an existing target', () => {
    assert.deepEqual(apply({ a: 1, b: 2 }, { op: 'remove', path: '/a' }), { b: 2 });
    assert.deepEqual(apply([1, 2, 3], { op: 'remove', path: '/1' }), [1, 3]);
    assert.deepEqual(apply({ a: 1 }, { op: 'replace', path: '/a', value: null }), { a: null });
    assert.deepEqual(apply({ a: 1 }, { op: 'replace', path: '', value: 'x' }), 'x');
    rejects({ a: 1 }, [{ op: 'remove', path: '/b' }], /no member "b"/);
    rejects({ a: 1 }, [{ op: 'replace', path: '/b', value: 1 }], /no member "b"/);
    rejects({ a: 1 }, [{ op: 'add', path: '/x/y', value: 1 }], /no member "x"/);
    rejects({ a: 1 }, [{ op: 'add', path: '/a/y', value: 1 }], /not an object or array/);
    rejects({ a: 1 }, [{ op: 'remove', path: '' }], /whole document/);
  });

  test('move and copy', () => {
    assert.deepEqual(apply({ a: { b: 1 }, c: {} }, { op: 'move', from: '/a/b', path: '/c/d' }), { a: {}, c: { d: 1 } });
    assert.deepEqual(apply([1, 2, 3, 4], { op: 'move', from: '/1', path: '/3' }), [1, 3, 4, 2], 'the index counts after the removal');
    assert.deepEqual(apply([1, 2, 3], { op: 'move', from: '/2', path: '/0' }), [3, 1, 2]);
    assert.deepEqual(apply({ a: 1 }, { op: 'move', from: '/a', path: '/a' }), { a: 1 });
    assert.deepEqual(apply({ a: [1] }, { op: 'copy', from: '/a', path: '/b' }), { a: [1], b: [1] });
    const copied = apply({ a: { x: 1 } }, { op: 'copy', from: '/a', path: '/b' }, { op: 'replace', path: '/b/x', value: 2 });
    assert.deepEqual(copied, { a: { x: 1 }, b: { x: 2 } }, 'a copy is not an alias');
    rejects({ a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], /own child/);
    rejects({ a: 1 }, [{ op: 'move', from: '/x', path: '/y' }], /no member "x"/);
    rejects({ a: 1 }, [{ op: 'copy', path: '/y' }], /needs "from"/);
  });

  test('test compares JSON values, not spellings or member order', () => {
    assert.deepEqual(apply({ a: { x: 1, y: [1, 'b'] } }, { op: 'test', path: '/a', value: { y: [1, 'b'], x: 1 } }), { a: { x: 1, y: [1, 'b'] } });
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
    rejects({}, [{ op: 'add', path: 5, value: 1 }], /must be a string/);
    rejects({}, ['add'], /must be an object/);
    assert.throws(() => applyJsonPatch({}, { op: 'add' }), /must be an array/);
  });

  test('a failing patch changes nothing (all or nothing)', () => {
    const doc = { a: [1, 2], b: { c: 1 } };
    const before = structuredClone(doc);
    assert.throws(
      () => applyJsonPatch(doc, [{ op: 'remove', path: '/a/0' }, { op: 'add', path: '/b/d', value: 1 }, { op: 'test', path: '/b/c', value: 2 }]),
      (e) => e instanceof JsonPatchError && e.index === 2,
    );
    assert.deepEqual(doc, before);
    const result = applyJsonPatch(doc, [{ op: 'remove', path: '/a/0' }]);
    assert.deepEqual(doc, before, 'a successful patch does not modify its input either');
    assert.deepEqual(result, { a: [2], b: { c: 1 } });
  });

  test('"__proto__" is an ordinary member name', () => {
    const doc = apply({}, { op: 'add', path: '/__proto__', value: { polluted: true } });
    assert.equal(Object.getPrototypeOf(doc), Object.prototype);
    assert.deepEqual(Object.keys(doc), ['__proto__']);
    assert.equal({}.polluted, undefined);
    assert.deepEqual(apply(doc, { op: 'remove', path: '/__proto__' }), {});
  });

  test('agrees with fast-json-patch on random documents', () => {
    // A small deterministic generator (xorshift), so failures are repeatable.
    let seed = 0x2545f491;
    const rand = (n) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const value = (depth) => {
      const kind = depth > 2 ? rand(4) : rand(6);
      if (kind === 0) return rand(100);
      if (kind === 1) return ['x', 'y', 'a/b', 'm~n', ''][rand(5)];
      if (kind === 2) return null;
      if (kind === 3) return rand(2) === 0;
      if (kind === 4) return Array.from({ length: rand(5) }, () => value(depth + 1));
      const o = {};
      for (let i = rand(5); i > 0; i--) o[['a', 'b', 'c', 'a/b', '~', ''][rand(6)]] = value(depth + 1);
      return o;
    };
    for (let i = 0; i < 500; i++) {
      const a = { root: value(0) };
      const b = { root: value(0) };
      const patch = jsonpatch.compare(a, b);
      assert.deepEqual(applyJsonPatch(a, patch), b, `case ${i}: ${JSON.stringify(patch)}`);
    }
  });
});

describe('applyMergePatch (RFC 7386)', () => {
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
  test('created, updated and deleted by key', () => {
    let doc = applyItemEvent(list, 'created', { key: 3, index: 1, value: { id: 3, s: 'c' } });
    assert.deepEqual(doc.map((x) => x.id), [1, 3, 2]);
    doc = applyItemEvent(doc, 'updated', { key: 1, index: 2, value: { id: 1, s: 'z' }, patch: [] });
    assert.deepEqual(doc, [{ id: 3, s: 'c' }, { id: 2, s: 'b' }, { id: 1, s: 'z' }]);
    doc = applyItemEvent(doc, 'deleted', { key: 2 });
    assert.deepEqual(doc.map((x) => x.id), [3, 1]);
    assert.deepEqual(list, [{ id: 1, s: 'a' }, { id: 2, s: 'b' }], 'the input is not modified');
  });
  test('keys keep their JSON type and nested key pointers work', () => {
    const doc = applyItemEvent([{ m: { k: '1' } }, { m: { k: 1 } }], 'deleted', { key: '1' }, '/m/k');
    assert.deepEqual(doc, [{ m: { k: 1 } }]);
  });
});

// A stand-in for the browser's EventSource that the test drives.
class FakeEventSource {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.listeners = new Map();
    FakeEventSource.instances.push(this);
  }
  addEventListener(type, fn) {
    this.listeners.set(type, fn);
  }
  close() {
    this.readyState = 2;
  }
  emit(type, id, data) {
    this.listeners.get(type)({ lastEventId: id, data: typeof data === 'string' ? data : JSON.stringify(data) });
  }
}

// Longer than the client's first reopen delay (1 s plus up to 50% jitter).
const reopenDelay = () => new Promise((resolve) => setTimeout(resolve, 1600));

describe('PollbridgeClient', () => {
  test('keeps the document through snapshot, patch, merge-patch and status events', () => {
    FakeEventSource.instances = [];
    const changes = [];
    const statuses = [];
    const client = new PollbridgeClient('/events/orders', {
      EventSource: FakeEventSource,
      onChange: (doc, info) => changes.push([info.type, info.id, doc]),
      onStatus: (status) => statuses.push(status.state),
    });
    const es = FakeEventSource.instances[0];
    assert.equal(es.url, '/events/orders');
    es.onopen();
    assert.equal(client.connection, 'open');
    es.emit('snapshot', 'e-1', { orders: [{ id: 1 }] });
    es.emit('patch', 'e-2', [{ op: 'add', path: '/orders/-', value: { id: 2 } }]);
    es.emit('merge-patch', 'e-3', { count: 2 });
    es.emit('status', 'e-4', { state: 'stale', reason: 'HTTP 503', since: '2024-01-01T00:00:00Z' });
    assert.ok(client.isStale());
    es.emit('status', 'e-5', { state: 'ok', since: '2024-01-01T00:00:01Z' });
    assert.ok(!client.isStale());
    assert.deepEqual(client.document(), { orders: [{ id: 1 }, { id: 2 }], count: 2 });
    assert.equal(client.lastEventId, 'e-5');
    assert.equal(client.eventCount, 5);
    assert.deepEqual(changes.map((c) => c[0]), ['snapshot', 'patch', 'merge-patch']);
    assert.deepEqual(statuses, ['stale', 'ok']);
    client.close();
  });

  test('an event that does not apply makes it resync from a fresh snapshot', async () => {
    FakeEventSource.instances = [];
    const errors = [];
    const client = new PollbridgeClient('/events/orders', { EventSource: FakeEventSource, onError: (e) => errors.push(e.message) });
    const es = FakeEventSource.instances[0];
    es.emit('snapshot', 'e-1', { a: 1 });
    es.emit('patch', 'e-2', [{ op: 'test', path: '/a', value: 2 }]);
    assert.equal(errors.length, 1);
    assert.equal(es.readyState, 2, 'the old connection is closed');
    assert.equal(client.document(), undefined, 'the broken copy is dropped');
    await reopenDelay();
    const reopened = FakeEventSource.instances[1];
    assert.equal(reopened.url, '/events/orders', 'no lastEventId: pollbridge sends a snapshot');
    client.close();
  });

  test('a connection the browser gave up on is reopened with ?lastEventId=', async () => {
    FakeEventSource.instances = [];
    const client = new PollbridgeClient('/events?stream=a&stream=b', { EventSource: FakeEventSource, streams: ['a', 'b'] });
    const es = FakeEventSource.instances[0];
    es.emit('snapshot', '1-1,', { stream: 'a', data: { x: 1 } });
    es.emit('snapshot', '1-1,2-1', { stream: 'b', data: 'text\nboard' });
    es.emit('patch', '1-2,2-1', { stream: 'a', data: [{ op: 'replace', path: '/x', value: 2 }] });
    assert.deepEqual(client.document('a'), { x: 2 });
    assert.equal(client.document('b'), 'text\nboard');
    es.readyState = 2;
    es.onerror();
    assert.equal(client.connection, 'reconnecting');
    await reopenDelay();
    assert.equal(FakeEventSource.instances[1].url, '/events?stream=a&stream=b&lastEventId=1-2%2C2-1');
    client.close();
  });
});

test('jsonEqual ignores member order only', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  assert.ok(!jsonEqual([1, 2], [2, 1]));
  assert.ok(!jsonEqual({ a: undefined }, {}));
});
