// Property tests of the client's appliers (clients/js/pollbridge.js) against
// independent ones.
//
// 1. Through the real binary: a seeded random sequence of documents is
//    served by a fake backend, one forced poll per document. Our watch()
//    (multiplexed endpoint, fetch transport) keeps the document; npm's
//    `eventsource` records the single-stream endpoint independently and npm's
//    `fast-json-patch` applies what it recorded. After every event the two
//    documents must be equal, and after every step both must equal what the
//    backend served (items mode: the same elements by key, since an element
//    that only moved sends nothing).
// 2. In-process: random documents and random operation lists, valid and
//    invalid, applied by ours and by fast-json-patch: the same result or both
//    refuse.
//
// PB_PROPERTY_SEED picks another seed; a failure prints the seed and step.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { EventSource } from 'eventsource';
import { PatchError, applyPatch, equal, watch } from '../../clients/js/pollbridge.js';
import { FakeUpstream, Pollbridge, waitFor } from './lib/harness.mjs';
import { Recorder } from './lib/recorder.mjs';

const SEED = Number(process.env.PB_PROPERTY_SEED || 0x5eed1e55);
// Steps per diff mode through the binary, and cases in-process.
const STEPS = 120;
const CASES = 3000;

// xorshift32: small, deterministic, good enough to pick test cases.
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const r = {
    int: (n) => next() % n,
    chance: (p) => next() / 2 ** 32 < p,
    pick: (list) => list[next() % list.length],
  };
  return r;
}

const KEYS = ['a', 'b', 'status', 'a/b', 'm~n', '', ' ', 'ü', '0', '-'];
const WORDS = ['new', 'paid', 'x', '', 'line\nbreak', 'quote"', 'é☕', '\u2028'];

function scalar(r, { nulls = true } = {}) {
  switch (r.int(nulls ? 6 : 5)) {
    case 0:
      return r.int(1000) - 100;
    case 1:
      return Math.round(r.int(100000)) / 100;
    case 2:
      return r.pick(WORDS);
    case 3:
      return r.chance(0.5);
    case 4:
      return r.int(3);
    default:
      return null;
  }
}

function value(r, depth, opts) {
  if (depth > 2 || r.chance(0.5)) return scalar(r, opts);
  if (r.chance(0.5)) return Array.from({ length: r.int(4) }, () => value(r, depth + 1, opts));
  const o = {};
  for (let i = r.int(4); i > 0; i--) o[r.pick(KEYS)] = value(r, depth + 1, opts);
  return o;
}

// An element of the keyed array.
const item = (r, id, opts) => ({ id, status: r.pick(['new', 'paid', 'packed']), qty: r.int(9), extra: value(r, 1, opts) });

// The next document: a few random edits of `doc` ({items: [...], info: {...}, list: [...]}).
function evolve(r, doc, opts) {
  const next = structuredClone(doc);
  const items = next.items;
  for (let edits = 1 + r.int(3); edits > 0; edits--) {
    switch (r.int(8)) {
      case 0:
        items.splice(r.int(items.length + 1), 0, item(r, opts.nextId(), opts));
        break;
      case 1:
        if (items.length) items.splice(r.int(items.length), 1);
        break;
      case 2: {
        if (items.length < 2) break;
        const [moved] = items.splice(r.int(items.length), 1);
        items.splice(r.int(items.length + 1), 0, moved);
        break;
      }
      case 3:
        if (items.length) items[r.int(items.length)].status = r.pick(['new', 'paid', 'shipped', 'packed']);
        break;
      case 4:
        if (items.length) items[r.int(items.length)].extra = value(r, 1, opts);
        break;
      case 5:
        next.info[r.pick(KEYS)] = value(r, 1, opts);
        break;
      case 6: {
        const k = Object.keys(next.info);
        if (k.length) delete next.info[r.pick(k)];
        break;
      }
      default:
        next.list = r.chance(0.3) ? [...next.list].reverse() : [...next.list, scalar(r, opts)].slice(-6);
    }
  }
  return next;
}

// Documents served for one diff mode; `shape` turns the state into the body.
function sequence(seed, { nulls, shape }) {
  const r = rng(seed);
  let id = 0;
  const opts = { nulls, nextId: () => ++id };
  let state = { items: [item(r, opts.nextId(), opts), item(r, opts.nextId(), opts)], info: {}, list: [] };
  const docs = [shape(state)];
  for (let i = 0; i < STEPS; i++) {
    state = evolve(r, state, opts);
    docs.push(shape(state));
  }
  return docs;
}

// The independent replica: fast-json-patch applied to what npm eventsource recorded.
function independentApply(doc, event) {
  const data = JSON.parse(event.data);
  switch (event.type) {
    case 'snapshot':
      return data;
    case 'patch':
      return jsonpatch.applyPatch(jsonpatch.deepClone(doc), data, true).newDocument;
    case 'status':
      return doc;
    default:
      throw new Error(`no independent applier for ${event.type}`);
  }
}

const byKey = (list) => [...list].sort((x, y) => x.id - y.id);

const MODES = [
  { name: 'json-patch keyed by id (moves)', stream: { diff: 'json-patch', key: 'id' }, nulls: true, shape: (s) => s, independent: true },
  { name: 'json-patch by index', stream: { diff: 'json-patch' }, nulls: true, shape: (s) => s, independent: true },
  { name: 'merge-patch', stream: { diff: 'merge-patch' }, nulls: true, shape: (s) => s },
  { name: 'items', stream: { diff: 'items', key: 'id' }, nulls: true, shape: (s) => s.items, keyed: true },
  { name: 'snapshot', stream: { diff: 'snapshot' }, nulls: true, shape: (s) => s, independent: true },
];

describe('random document sequences through pollbridge', () => {
  let upstream;
  let proxy;
  before(async () => {
    upstream = await new FakeUpstream().start();
    MODES.forEach((m, i) => upstream.set(`/m${i}`, m.shape({ items: [], info: {}, list: [] })));
    proxy = await new Pollbridge({
      streams: MODES.map((m, i) => ({ name: `m${i}`, url: upstream.url(`/m${i}`), interval: '1h', ...m.stream })),
      history: 10000,
    }).start();
  });
  after(async () => {
    await proxy.dispose();
    await upstream.stop();
  });

  MODES.forEach((mode, index) => {
    const transports = index === 0 ? ['fetch', 'eventsource'] : ['fetch'];
    for (const transport of transports) {
      test(`${mode.name} (${transport} transport)`, async (t) => {
        const name = `m${index}`;
        const docs = sequence(SEED + index, mode);
        upstream.set(`/${name}`, docs[0]);
        let last = await proxy.poll(name);
        const ours = new Map(); // id -> our document after that event
        const errors = [];
        const w = watch(`${proxy.baseUrl}/events/${name}`, {
          transport,
          EventSource,
          shared: false,
          onChange: (doc, change) => ours.set(change.id, structuredClone(doc)),
          onError: (e) => errors.push(e.message),
        });
        const recorder = new Recorder(`${proxy.baseUrl}/events/${name}`);
        t.after(() => {
          w.close();
          recorder.close();
        });
        let theirs;
        let checked = 0;
        for (let step = 0; step < docs.length; step++) {
          const where = `seed ${SEED + index}, step ${step}`;
          if (step > 0) {
            upstream.set(`/${name}`, docs[step]);
            last = await proxy.poll(name);
          }
          await waitFor(() => w.g.reps.get(name)?.id === last, { what: `our watch at ${last} (${where})` });
          await waitFor(() => recorder.events.at(-1)?.id === last, { what: `the recorder at ${last} (${where})` });
          for (const event of recorder.events.slice(recorder.read)) {
            recorder.read++;
            if (mode.independent) {
              theirs = independentApply(theirs, event);
              if (event.type !== 'status') {
                assert.ok(ours.has(event.id), `we were told about ${event.id} (${where})`);
                assert.ok(equal(ours.get(event.id), theirs), `${where}: after ${event.type} ${event.id} ${event.data}`);
                checked++;
              }
            } else if (event.type === 'updated') {
              // Items: the element patch pollbridge sends, applied independently.
              const data = JSON.parse(event.data);
              const before = theirs.get(JSON.stringify(data.key));
              const after = jsonpatch.applyPatch(jsonpatch.deepClone(before), data.patch, true).newDocument;
              assert.deepEqual(after, data.value, `${where}: element patch of ${data.key}`);
              theirs.set(JSON.stringify(data.key), data.value);
              checked++;
            } else if (mode.keyed) {
              const data = JSON.parse(event.data);
              if (event.type === 'snapshot') theirs = new Map(data.map((e) => [JSON.stringify(e.id), e]));
              else if (event.type === 'created') theirs.set(JSON.stringify(data.key), data.value);
              else if (event.type === 'deleted') theirs.delete(JSON.stringify(data.key));
            }
          }
          // Both equal what the backend served.
          const expected = docs[step];
          if (mode.keyed) {
            assert.deepEqual(byKey(w.document), byKey(expected), where);
            assert.deepEqual(byKey([...theirs.values()]), byKey(expected), where);
          } else {
            assert.ok(equal(w.document, expected), `${where}: ${JSON.stringify(w.document)} != ${JSON.stringify(expected)}`);
            if (mode.independent) assert.ok(equal(theirs, expected), where);
          }
        }
        // Every event applied as it came: no gap seen, no resynchronisation.
        assert.deepEqual(errors, []);
        const ids = recorder.events.map((e) => Number(e.id.split('-')[1]));
        assert.deepEqual(ids, ids.map((_, i) => ids[0] + i), 'one seq per event');
        const types = new Set(recorder.events.map((e) => e.type));
        t.diagnostic(`${recorder.events.length} events (${[...types].join(', ')}), ${checked} cross-checked`);
        if (mode.stream.diff === 'json-patch' && mode.stream.key) {
          const ops = new Set(recorder.events.filter((e) => e.type === 'patch').flatMap((e) => JSON.parse(e.data).map((o) => o.op)));
          assert.ok(ops.has('move'), `the sequence exercised moves: ${[...ops]}`);
        }
        if (mode.stream.diff === 'merge-patch') assert.ok(types.has('merge-patch') && types.has('snapshot'));
        if (mode.keyed) for (const type of ['created', 'updated', 'deleted']) assert.ok(types.has(type), type);
      });
    }
  });
});

// --- in-process: random operations -----------------------------------------

// Every pointer in `doc`, with its value.
function pointers(doc, base = '') {
  const out = [[base, doc]];
  if (Array.isArray(doc)) doc.forEach((v, i) => out.push(...pointers(v, `${base}/${i}`)));
  else if (doc && typeof doc === 'object') {
    for (const k of Object.keys(doc)) out.push(...pointers(doc[k], `${base}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  return out;
}

// A random operation on `doc`; sometimes one that must fail.
function operation(r, doc) {
  const all = pointers(doc);
  const [path, at] = r.pick(all);
  const addPath = (target = doc) => {
    const containers = pointers(target).filter(([, v]) => v && typeof v === 'object');
    if (!containers.length) return ''; // a scalar document: add replaces it
    const [p, c] = r.pick(containers);
    if (Array.isArray(c)) return `${p}/${r.chance(0.2) ? '-' : r.int(c.length + 1)}`;
    return `${p}/${r.pick(KEYS).replace(/~/g, '~0').replace(/\//g, '~1')}`;
  };
  const broken = r.chance(0.15);
  // Whole-document replacements stay objects: on a scalar document
  // fast-json-patch stops checking that "from" exists (RFC 6902 4.4, 4.5).
  const valueAt = (p) => (p === '' ? { v: value(r, 1, {}) } : value(r, 1, {}));
  const missing = () => (r.chance(0.5) ? `${path}/nope` : `/${r.int(50)}x`);
  switch (r.int(6)) {
    case 0: {
      const to = broken ? `${missing()}/deeper` : addPath();
      return { op: 'add', path: to, value: valueAt(to) };
    }
    case 1:
      return { op: 'remove', path: broken ? missing() : path || '/nope' };
    case 2: {
      const to = broken ? missing() : path;
      return { op: 'replace', path: to, value: valueAt(to) };
    }
    case 3: {
      if (broken || !path) return { op: 'move', from: missing(), path: addPath() };
      // RFC 6902 4.4: a move is a remove, then an add on what is left, so
      // the target is chosen in the document without `from`. fast-json-patch
      // checks the target against the document before the removal instead:
      // keep to targets valid in both, where the two must agree.
      const rest = jsonpatch.applyOperation(jsonpatch.deepClone(doc), { op: 'remove', path }).newDocument;
      for (let tries = 0; tries < 8; tries++) {
        const to = addPath(rest);
        if (!jsonpatch.validate([{ op: 'add', path: to, value: 0 }], doc)) return { op: 'move', from: path, path: to };
      }
      return { op: 'copy', from: path, path: addPath() };
    }
    case 4:
      return { op: 'copy', from: broken ? missing() : path, path: addPath() };
    default:
      return { op: 'test', path, value: broken ? value(r, 1, {}) : structuredClone(at) };
  }
}

// fast-json-patch moves a location into its own child instead of refusing
// (RFC 6902 4.4: "from" must not be a proper prefix of "path"): not compared.
const intoItself = (op) => op.op === 'move' && op.path.startsWith(op.from + '/');

describe('random operation lists against fast-json-patch', () => {
  test(`${CASES} cases: the same document, or both refuse`, (t) => {
    const r = rng(SEED);
    let applied = 0;
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      const doc = { root: value(r, 0, {}), list: [1, { a: [2, 3] }, 'x'] };
      const ops = [];
      let scratch = structuredClone(doc);
      for (let n = 1 + r.int(4); n > 0; n--) {
        const op = operation(r, scratch);
        ops.push(op);
        try {
          scratch = jsonpatch.applyOperation(jsonpatch.deepClone(scratch), op, true, true, false).newDocument;
        } catch {
          break; // later operations would start from a failed one anyway
        }
      }
      if (ops.some(intoItself)) continue;
      const where = `seed ${SEED} case ${i}: ${JSON.stringify(doc)} ${JSON.stringify(ops)}`;
      let mine;
      let theirs;
      try {
        mine = { doc: applyPatch(doc, ops) };
      } catch (e) {
        assert.ok(e instanceof PatchError, `${where}: ${e}`);
        mine = { error: e.message };
      }
      try {
        theirs = { doc: jsonpatch.applyPatch(jsonpatch.deepClone(doc), ops, true, false).newDocument };
      } catch (e) {
        theirs = { error: e.message };
      }
      assert.equal(Boolean(mine.error), Boolean(theirs.error), `${where}\nours: ${mine.error} theirs: ${theirs.error}`);
      if (mine.error) refused++;
      else {
        assert.ok(equal(mine.doc, theirs.doc), `${where}\nours: ${JSON.stringify(mine.doc)}\ntheirs: ${JSON.stringify(theirs.doc)}`);
        applied++;
      }
    }
    t.diagnostic(`${applied} applied alike, ${refused} refused by both`);
    assert.ok(applied > CASES / 2 && refused > CASES / 20, `${applied} applied, ${refused} refused`);
  });
});
