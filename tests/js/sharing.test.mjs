// Tab sharing (clients/js/pollbridge.js, section 5) against the real
// pollbridge: "tabs" are module instances in this process that share a lock
// manager and a broadcast bus the test controls (lib/tabs.mjs), so that the
// races of a leader handover are reproduced step by step instead of hoped
// for. Events come from forced polls (POST /streams/{name}/poll?wait=true),
// one per step; every tab records the ids of the changes it was told about.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeUpstream, Pollbridge, waitFor } from './lib/harness.mjs';
import { FakeBus, FakeLocks, openTab } from './lib/tabs.mjs';

const seq = (id) => Number(id.split('-')[1]);
const epochOf = (id) => id.split('-')[0];

// The ids a tab saw for a stream are consecutive (no gap, no duplicate) from
// its first (or `since`) to `last`.
function assertContiguous(tab, stream, last, since) {
  let ids = tab.ids(stream);
  if (since && ids.includes(since)) ids = ids.slice(ids.indexOf(since));
  assert.ok(ids.length > 0, `${tab.name} saw nothing of ${stream}`);
  for (let i = 1; i < ids.length; i++) {
    assert.equal(epochOf(ids[i]), epochOf(ids[0]), `${tab.name}: ${ids}`);
    assert.equal(seq(ids[i]), seq(ids[i - 1]) + 1, `${tab.name} ${stream}: ${ids.join(' ')}`);
  }
  assert.equal(ids[ids.length - 1], last, `${tab.name} ends at ${last}: ${ids.join(' ')}`);
}

// A note big enough that a change is a patch (no event is larger than its snapshot).
const orders = (n) => ({
  note: 'n'.repeat(300),
  orders: Array.from({ length: n }, (_, i) => ({ id: i + 1, status: i % 2 ? 'paid' : 'new' })),
});

describe('tabs share one connection', () => {
  let upstream;
  let proxy;
  let locks;
  let bus;
  let version = 0;
  const tabs = [];
  let url;

  const open = async (name, options = {}, watchUrl = url) => {
    const tab = await openTab(name, watchUrl, { locks, bus, options });
    tabs.push(tab);
    return tab;
  };
  // The next upstream document, polled now; returns the id of its event.
  const step = async () => {
    version++;
    upstream.set('/orders', orders(2 + (version % 5)));
    return proxy.poll('orders');
  };
  const at = (tab, id, stream = 'orders') =>
    waitFor(() => (tab.watch.g ? tab.watch.g.reps.get(stream) || {} : {}).id === id, { what: `${tab.name} at ${id}` });
  const clients = () => proxy.metric('pollbridge_clients');

  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/orders', orders(2));
    upstream.set('/board', 'board 0\n', 'text/plain');
    proxy = await new Pollbridge({
      streams: [
        { name: 'orders', url: upstream.url('/orders'), interval: '1h', diff: 'json-patch', key: 'id' },
        { name: 'board', url: upstream.url('/board'), interval: '1h', diff: 'text' },
      ],
    }).start();
    url = `${proxy.baseUrl}/events/orders`;
    locks = new FakeLocks();
    bus = new FakeBus();
  });

  after(async () => {
    for (const tab of tabs) tab.watch.close();
    await proxy.dispose();
    await upstream.stop();
  });

  test('the first tab leads, the others follow, and pollbridge sees one connection', async () => {
    const first = await proxy.poll('orders');
    const a = await open('A');
    const b = await open('B');
    const c = await open('C');
    for (const t of [a, b, c]) await at(t, first);
    assert.equal(a.watch.leader, true);
    assert.equal(b.watch.leader, false);
    assert.equal(c.watch.leader, false);
    await waitFor(async () => (await clients()) === 1, { what: 'one SSE connection' });
    for (const t of [b, c]) {
      assert.deepEqual(t.watch.document, orders(2));
      assert.equal(t.changes[0].type, 'snapshot');
      await waitFor(() => t.watch.status.state === 'live', { what: `${t.name} live` });
    }
    const id = await step();
    for (const t of [a, b, c]) await at(t, id);
    for (const t of [a, b, c]) {
      assert.deepEqual(t.watch.document, orders(2 + (version % 5)));
      assertContiguous(t, 'orders', id);
      assert.deepEqual(t.errors, []);
    }
    assert.equal(await clients(), 1);
  });

  test('a tab opened later gets the current document from the leader, not from pollbridge', async () => {
    const id = await step();
    const [a] = tabs;
    await at(a, id);
    const attached = await proxy.metric('pollbridge_clients_attached_total');
    const late = await open('Late');
    await at(late, id);
    assert.deepEqual(late.watch.document, a.watch.document);
    assert.deepEqual(late.ids('orders'), [id], 'one copy at the current id');
    assert.equal(await proxy.metric('pollbridge_clients_attached_total'), attached, 'no new connection');
    const next = await step();
    await at(late, next);
    assertContiguous(late, 'orders', next);
  });

  test('handover: events the old leader forwarded while the new one resumed are not taken twice', async () => {
    const [a, b, c] = tabs;
    const before = await step();
    for (const t of tabs) await at(t, before);
    // B (the next in line for the lock) stops hearing the leader: A's next
    // two events wait in B's queue while C takes them.
    bus.hold('B');
    const e1 = await step();
    const e2 = await step();
    await at(a, e2);
    await at(c, e2);
    assert.equal(b.watch.g.reps.get('orders').id, before, 'B is behind');
    assert.ok(bus.queued('B').some((m) => m.data.t === 'ev' && m.data.id === e2));

    a.watch.close(); // A leaves: the lock goes to B
    tabs.splice(tabs.indexOf(a), 1);
    await waitFor(() => b.watch.leader, { what: 'B to lead' });
    // B resumed from its own last id: pollbridge replayed e1 and e2 to it.
    await at(b, e2);
    assert.deepEqual(b.ids('orders').slice(-2), [e1, e2]);
    // Now A's old messages reach B: duplicates, taken no more.
    bus.release('B');
    const e3 = await step();
    for (const t of tabs) await at(t, e3);
    for (const t of [b, c]) assertContiguous(t, 'orders', e3);
    for (const t of tabs) assert.deepEqual(t.errors, [], `${t.name} errors`);
    await waitFor(async () => (await clients()) === 1, { what: 'one SSE connection after the handover' });
  });

  test('a follower that missed events asks the leader for its copy', async () => {
    const [b, c] = tabs; // B leads
    const start = await step();
    for (const t of tabs) await at(t, start);
    // B's events to C are held; then they are delivered out of order, the
    // newest first, as if C lost the older ones.
    bus.hold('C');
    const e1 = await step();
    const e2 = await step();
    await at(b, e2);
    const newestFirst = (m) => m.data.t === 'ev' && m.data.id === e2;
    bus.release('C', newestFirst);
    await at(c, e2);
    assert.deepEqual(c.watch.document, b.watch.document);
    assert.equal(c.errors.length, 1, 'one gap noticed');
    assert.match(c.errors[0], new RegExp(`missed events between ${start} and ${e2}`));
    // C jumped from `start` to the leader's copy at e2; e1 came too late.
    assert.deepEqual(c.ids('orders').slice(-2), [start, e2]);
    assert.equal(c.changes.at(-1).type, 'snapshot');
    const e3 = await step();
    await at(c, e3);
    assert.deepEqual(c.ids('orders').slice(-2), [e2, e3]);
    assert.ok(!c.ids('orders').includes(e1));
  });

  test('a leader that dies without a word is replaced, and the union of streams is kept', async () => {
    const [b] = tabs;
    const board = await open('Board', {}, `${proxy.baseUrl}/events?stream=orders&stream=board`);
    await waitFor(() => board.watch.documents.board === 'board 0\n', { what: 'the board through the leader' });
    assert.equal(board.watch.leader, false);
    // B held the connection for orders and board: it crashes.
    const id = await step();
    for (const t of tabs) await at(t, id);
    const since = id;
    b.crash();
    tabs.splice(tabs.indexOf(b), 1);
    await waitFor(() => tabs.filter((t) => t.watch.leader).length === 1, { what: 'a new leader' });
    upstream.set('/board', 'board 1\n', 'text/plain');
    const boardId = await proxy.poll('board');
    const next = await step();
    for (const t of tabs) await at(t, next);
    await at(board, boardId, 'board');
    assert.equal(board.watch.documents.board, 'board 1\n');
    for (const t of tabs) assertContiguous(t, 'orders', next, since);
    assert.deepEqual(board.ids('board').map(seq), [1, 2]);
    await waitFor(async () => (await clients()) === 1, { what: 'one SSE connection' });
  });

  test('a stream pollbridge refuses is left out without disturbing the others', async () => {
    const since = await step();
    for (const t of tabs) await at(t, since);
    const bad = await open('Bad', {}, `${proxy.baseUrl}/events?stream=orders&stream=nope`);
    await waitFor(() => bad.watch.status.state === 'reconnecting' && /nope: HTTP 404/.test(bad.watch.status.reason), {
      what: 'the refused stream in the status',
    });
    const id = await step();
    for (const t of tabs) await at(t, id);
    for (const t of tabs.filter((x) => x !== bad)) {
      assert.equal(t.watch.status.state, 'live', `${t.name}: ${JSON.stringify(t.watch.status)}`);
      assertContiguous(t, 'orders', id, since);
    }
    assert.deepEqual(bad.watch.document, tabs[0].watch.document, 'its good stream is delivered');
  });

  test('a tab leaving takes its streams out of the union at the next reconnect', async () => {
    const bad = tabs.find((t) => t.name === 'Bad');
    const leader = tabs.find((t) => t.watch.leader);
    const badTab = bad.watch.g.tab;
    assert.ok(leader.watch.g.union().includes('nope'));
    bad.watch.close();
    tabs.splice(tabs.indexOf(bad), 1);
    await waitFor(() => !leader.watch.g.peers.has(badTab), { what: 'the bye' });
    assert.ok(!leader.watch.g.union().includes('nope'));
  });

  test('shared: false opts out: that tab has a connection of its own', async () => {
    const before = await clients();
    const alone = await open('Alone', { shared: false, locks: undefined });
    const id = await step();
    await at(alone, id);
    assert.equal(alone.watch.leader, true);
    assert.equal(await clients(), before + 1);
    assert.ok(!bus.log.some((m) => m.from === 'Alone'), 'it posts nothing');
    alone.watch.close();
    tabs.splice(tabs.indexOf(alone), 1);
    await waitFor(async () => (await clients()) === before, { what: 'its connection to close' });
  });

  test('an upstream failure reaches every tab as stale, then live again', async () => {
    upstream.fail('/orders', 503);
    await proxy.poll('orders');
    for (const t of tabs) {
      await waitFor(() => t.watch.status.state === 'stale', { what: `${t.name} stale` });
      assert.match(t.watch.status.reason, /503/);
    }
    upstream.recover('/orders');
    const id = await step();
    for (const t of tabs) {
      await at(t, id);
      await waitFor(() => t.watch.status.state === 'live', { what: `${t.name} live` });
    }
  });
});
