// The example page (examples/web, importing the client pollbridge serves at
// /pollbridge.js) in headless Chromium against the real binary, in front of
// a fake legacy backend that the test changes step by step:
//
//  * one tab: the live document follows the backend, staleness shows, the
//    page reconnects after pollbridge restarts, the multiplexed view;
//  * eight tabs of one origin on HTTP/1.1: all live on ONE SSE connection
//    (pollbridge's pollbridge_clients); the leader tab closes and the others
//    go on with no gap and no duplicate (every tab's ids are consecutive);
//    pollbridge restarts (state on disk) and every tab recovers, again
//    without a gap;
//  * tokens: as a query parameter, and as Authorization: Bearer through the
//    fetch reader across origins (CORS preflight);
//  * behind a proxy that buffers bodies up to 64 KiB (lib/buffering-proxy.mjs)
//    the page still shows the document: its client falls back to long-poll.
//
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), driven by
// playwright-core over its DevTools pipe; nothing is downloaded. Screenshots
// go to tests/js/artifacts/ (git-ignored).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { BufferingProxy } from './lib/buffering-proxy.mjs';
import { CHROMIUM, CHROMIUM_ARGS, FakeUpstream, Pollbridge, makeTestCertificates, repoRoot, sleep, waitFor } from './lib/harness.mjs';

const ARTIFACTS = path.join(repoRoot, 'tests', 'js', 'artifacts');
const STATIC = path.join(repoRoot, 'examples', 'web');
const TABS = 8;

const order = (id, status, total, customer = id % 5) => ({ id, customer, status, product: `item ${id}`, quantity: 1, total, currency: 'EUR' });

// The page shows the document without updatedAt (pollbridge ignores it).
const shown = ({ updatedAt, ...rest }) => rest;
const stateOf = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.pollbridgeState)));
const seq = (id) => Number(id.split('-')[1]);
const epochOf = (id) => id.split('-')[0];

// Errors a page logs that are not expected: connection failures while
// pollbridge is down are expected.
function watchErrors(page, errors) {
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource|EventSource|net::ERR_/.test(message.text())) {
      errors.push(message.text());
    }
  });
}

let browser;
before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  if (browser) await browser.close();
});

describe('the example page in one tab', () => {
  let upstream;
  let proxy;
  let page;
  let doc;
  const pageErrors = [];

  const setDoc = (next, stamp) => {
    doc = { updatedAt: `2024-05-01T10:00:${String(stamp).padStart(2, '0')}Z`, ...next };
    upstream.set('/api/orders', doc);
  };
  // Waits until the page's document equals the upstream's (minus updatedAt).
  const pageFollows = async (what) => {
    const expected = shown(doc);
    await waitFor(
      async () => {
        assert.deepEqual((await stateOf(page)).document, expected);
        return true;
      },
      { what: `the page to show ${what}` },
    );
  };

  before(async () => {
    upstream = await new FakeUpstream().start();
    setDoc({ orders: [order(1, 'new', 12.5), order(2, 'paid', 7), order(3, 'packed', 30.25)] }, 0);
    proxy = await new Pollbridge({
      streams: [
        { name: 'orders', url: upstream.url('/api/orders'), interval: '100ms', timeout: '2s', diff: 'json-patch', key: 'id', ignore: ['/updatedAt'] },
      ],
      server: { static_dir: STATIC, retry: '300ms' },
    }).start();
    const context = await browser.newContext();
    page = await context.newPage();
    watchErrors(page, pageErrors);
  });

  after(async () => {
    if (page) await page.context().close();
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
  });

  test('the page shows the upstream document and follows inserts, deletes and moves', async () => {
    await page.goto(proxy.baseUrl + '/');
    await pageFollows('the first snapshot');
    assert.equal(await page.locator('#orders-body tr').count(), 3);
    await waitFor(async () => (await page.locator('#connection').textContent()) === 'live', { what: 'live' });
    assert.equal(await page.locator('#role').textContent(), 'this tab holds the connection');

    const steps = [
      ['an insert in the middle', (o) => [o[0], order(4, 'new', 5.5), ...o.slice(1)]],
      ['a status change', (o) => o.map((x) => (x.id === 2 ? { ...x, status: 'shipped' } : x))],
      ['a delete', (o) => o.filter((x) => x.id !== 1)],
      ['a move to the front', (o) => [o[2], ...o.slice(0, 2)]],
      ['a move, an insert and a delete at once', (o) => [o[1], order(5, 'new', 99.9), o[0]]],
      ['a change of a nested member', (o) => o.map((x) => (x.id === 5 ? { ...x, tags: ['gift', 'express'] } : x))],
    ];
    let stamp = 1;
    for (const [what, change] of steps) {
      setDoc({ orders: change(doc.orders) }, stamp++);
      await pageFollows(what);
    }
    const s = await stateOf(page);
    assert.equal(s.counts.snapshot, 1, 'one snapshot, then only patches');
    assert.ok(s.counts.patch >= steps.length, `patches: ${JSON.stringify(s.counts)}`);
    assert.deepEqual(s.errors, []);
    assert.ok(s.lastEventId, 'the page shows the last event id');
    assert.equal(await page.locator('#last-id').textContent(), s.lastEventId);
    // The table shows the rows in the document's order, with the money as the backend wrote it.
    const ids = await page.locator('#orders-body tr td:first-child').allTextContents();
    assert.deepEqual(ids.map(Number), doc.orders.map((o) => o.id));
    assert.match(await page.locator('#orders-body').textContent(), /99\.90 EUR/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'one-tab-live.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  test('a stale banner shows while the upstream fails and goes away when it recovers', async () => {
    assert.equal(await page.locator('#stale-banner').isVisible(), false);
    upstream.fail('/api/orders', 503);
    try {
      await waitFor(() => page.locator('#stale-banner').isVisible(), { what: 'the stale banner' });
      assert.match(await page.locator('#stale-text').textContent(), /^stale: upstream answered HTTP 503/);
      const s = await stateOf(page);
      assert.equal(s.connection, 'stale');
      assert.equal(s.stale, true);
      assert.deepEqual(s.document, shown(doc), 'the last good document stays on the page');
      await page.screenshot({ path: path.join(ARTIFACTS, 'one-tab-stale.png'), fullPage: true });
    } finally {
      setDoc({ orders: [...doc.orders, order(6, 'new', 1)] }, 30);
      upstream.recover('/api/orders');
    }
    await waitFor(async () => !(await page.locator('#stale-banner').isVisible()), { what: 'the banner to go' });
    await pageFollows('the document after recovery');
    assert.equal((await stateOf(page)).connection, 'live');
    assert.deepEqual(pageErrors, []);
  });

  test('the page reconnects by itself after pollbridge is killed and restarted', async () => {
    const port = proxy.port;
    const before = await stateOf(page);
    await proxy.stop('SIGKILL');
    await waitFor(async () => (await stateOf(page)).connection === 'reconnecting', { what: 'the page to notice' });

    // The backend changes while pollbridge is down.
    setDoc({ orders: [order(7, 'new', 42), ...doc.orders.slice(1)] }, 40);
    await proxy.start(`127.0.0.1:${port}`);
    await waitFor(async () => (await stateOf(page)).connection === 'live', { what: 'the page to reconnect' });
    await pageFollows('the document after the restart');

    // The restarted pollbridge kept no state (--memory): the page's last id
    // is unknown to it, so it sent a fresh snapshot, which the page took.
    const s = await stateOf(page);
    assert.equal(s.counts.snapshot, before.counts.snapshot + 1);
    assert.notEqual(s.lastEventId, before.lastEventId);
    assert.deepEqual(s.errors, []);

    setDoc({ orders: doc.orders.slice(1) }, 41);
    await pageFollows('a change after the restart');
    assert.deepEqual(pageErrors, []);
  });

  test('the multiplexed view keeps orders and the text board from one connection', async () => {
    upstream.set('/api/board', 'ORDER BOARD\nnew 2\n', 'text/plain');
    const mux = await new Pollbridge({
      streams: [
        { name: 'orders', url: upstream.url('/api/orders'), interval: '100ms', key: 'id', ignore: ['/updatedAt'] },
        { name: 'board', url: upstream.url('/api/board'), interval: '100ms', diff: 'text' },
      ],
      server: { static_dir: STATIC },
    }).start();
    const muxPage = await page.context().newPage();
    try {
      await muxPage.goto(mux.baseUrl + '/mux.html');
      const follows = (board) =>
        waitFor(
          async () => {
            const s = await stateOf(muxPage);
            assert.deepEqual(s.documents.orders, shown(doc));
            assert.equal(s.documents.board, board);
            return true;
          },
          { what: 'both streams on the mux page' },
        );
      await follows('ORDER BOARD\nnew 2\n');
      upstream.set('/api/board', 'ORDER BOARD\nnew 3\n', 'text/plain');
      setDoc({ orders: [...doc.orders, order(8, 'paid', 2.5)] }, 50);
      await follows('ORDER BOARD\nnew 3\n');
      assert.equal(await muxPage.locator('#board').textContent(), 'ORDER BOARD\nnew 3\n');
      const s = await stateOf(muxPage);
      assert.equal(s.lastEventId.split(',').length, 2, `a composite id: ${s.lastEventId}`);
      await muxPage.screenshot({ path: path.join(ARTIFACTS, 'mux.png'), fullPage: true });
    } finally {
      await muxPage.close();
      await mux.dispose();
    }
  });
  test('the example page works over HTTPS served by pollbridge itself', async () => {
    const certs = makeTestCertificates();
    const secure = await new Pollbridge({
      streams: [{ name: 'orders', url: upstream.url('/api/orders'), interval: '100ms', key: 'id', ignore: ['/updatedAt'] }],
      server: { static_dir: path.join(repoRoot, 'examples', 'web'), tls: { cert: certs.cert, key: certs.key } },
    }).start();
    // The test CA is not in Chromium's store: accept its certificate here.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const securePage = await context.newPage();
    const secureErrors = [];
    securePage.on('pageerror', (error) => secureErrors.push(error.message));
    try {
      const response = await securePage.goto(`https://localhost:${secure.port}/`);
      assert.equal(response.status(), 200);
      assert.equal(response.url().startsWith('https://'), true);
      const secureState = () => securePage.evaluate(() => JSON.parse(JSON.stringify(window.pollbridgeState)));
      const follows = async (what) =>
        waitFor(
          async () => {
            assert.deepEqual((await secureState()).document, shown(doc));
            return true;
          },
          { what },
        );
      await follows('the snapshot over HTTPS');
      assert.equal(await securePage.locator('#connection').textContent(), 'live');
      setDoc({ orders: [...doc.orders, order(9, 'new', 3.25)] }, 55);
      await follows('a change over HTTPS');
      assert.ok((await secureState()).counts.patch >= 1);
      assert.deepEqual(secureErrors, []);
    } finally {
      await context.close();
      await secure.dispose();
      certs.dispose();
    }
  });
});

describe(`${TABS} tabs of one origin share one connection`, () => {
  let upstream;
  let proxy;
  let context;
  let pages = [];
  const pageErrors = [];
  let version = 0;
  let changer = null;

  const change = () => {
    version++;
    upstream.set('/api/orders', { orders: [order(1, version % 2 ? 'paid' : 'new', version), order(2, 'new', 2)] });
  };
  // Changes the backend every `ms` until stopChanging().
  const startChanging = (ms) => {
    changer = setInterval(change, ms);
  };
  const stopChanging = () => clearInterval(changer);
  const clients = () => proxy.metric('pollbridge_clients');
  const leaders = async () => {
    const flags = await Promise.all(pages.map(async (p) => (await stateOf(p)).leader));
    return pages.filter((_, i) => flags[i]);
  };
  // Changes the backend once more, waits for pollbridge to publish it, then
  // until every tab has caught up with that id; returns it.
  const settle = async (what) => {
    const { events } = await proxy.streamInfo('orders');
    change();
    const info = await proxy.waitForEvents('orders', events);
    await waitFor(
      async () => {
        for (const p of pages) {
          const s = await stateOf(p);
          if (s.changes.at(-1)?.id !== info.last_id) return false;
        }
        return true;
      },
      { what: `every tab at ${info.last_id} (${what})` },
    );
    return info.last_id;
  };
  // No gap and no duplicate: each tab's ids are consecutive, except a jump
  // where its first copy came from the leader.
  const assertConsecutive = async (what, since, atLeast) => {
    for (const [i, p] of pages.entries()) {
      const ids = (await stateOf(p)).changes.filter((c) => c.stream === 'orders').map((c) => c.id);
      if (since) {
        const after = ids.filter((id) => seq(id) > seq(since));
        assert.ok(after.length >= atLeast, `tab ${i} saw ${after.length} changes after ${since} (${what})`);
      }
      for (let k = 1; k < ids.length; k++) {
        assert.equal(seq(ids[k]), seq(ids[k - 1]) + 1, `tab ${i} (${what}): ${ids.slice(Math.max(0, k - 3), k + 2).join(' ')}`);
      }
    }
  };

  before(async () => {
    upstream = await new FakeUpstream().start();
    change();
    proxy = await new Pollbridge({
      streams: [{ name: 'orders', url: upstream.url('/api/orders'), interval: '100ms', timeout: '2s', diff: 'json-patch', key: 'id' }],
      server: { static_dir: STATIC, retry: '300ms' },
      persist: true,
    }).start();
    context = await browser.newContext();
  });

  after(async () => {
    stopChanging();
    if (context) await context.close();
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
  });

  test(`all ${TABS} tabs are live, pollbridge counts ONE SSE connection`, async () => {
    for (let i = 0; i < TABS; i++) {
      const p = await context.newPage();
      watchErrors(p, pageErrors);
      await p.goto(proxy.baseUrl + '/');
      pages.push(p);
    }
    for (const p of pages) await waitFor(async () => (await stateOf(p)).connection === 'live', { what: 'every tab live' });
    const id = await settle('after a change');
    assert.equal(await clients(), 1, 'one SSE connection for all tabs');
    assert.equal((await leaders()).length, 1, 'one leader');
    for (const p of pages) {
      const s = await stateOf(p);
      assert.deepEqual(s.document, { orders: [order(1, version % 2 ? 'paid' : 'new', version), order(2, 'new', 2)] });
      assert.equal(s.lastEventId, id);
    }
    // Without sharing, the seventh tab would wait for one of the six
    // HTTP/1.1 connections Chromium allows per origin: here it does not.
    await assertConsecutive('start');
    for (const [i, p] of pages.entries()) await p.screenshot({ path: path.join(ARTIFACTS, `tab-${i + 1}-of-${TABS}.png`) });
    assert.deepEqual(pageErrors, []);
  });

  test('the leader tab closes: the others go on with no gap and no duplicate', async () => {
    const [leader] = await leaders();
    const index = pages.indexOf(leader);
    const before = (await proxy.streamInfo('orders')).last_id;
    startChanging(150);
    await sleep(400);
    await leader.close(); // the browser releases its lock; another tab takes over
    pages.splice(index, 1);
    await waitFor(async () => (await leaders()).length === 1, { what: 'a new leader' });
    await sleep(1000); // changes keep coming through the new leader
    stopChanging();
    const last = await settle('after the handover');
    // Changes came every 150 ms for 1.4 s, also while the lock changed hands.
    await assertConsecutive('handover', before, 6);
    console.log(`# handover: ${before} .. ${last}`);
    await waitFor(async () => (await clients()) === 1, { what: 'one SSE connection again' });
    const [next] = await leaders();
    assert.equal(await next.locator('#role').textContent(), 'this tab holds the connection');
    await next.screenshot({ path: path.join(ARTIFACTS, 'new-leader.png') });
    assert.deepEqual(pageErrors, []);
  });

  test('pollbridge restarts: every tab recovers, still without a gap', async () => {
    const port = proxy.port;
    const epoch = (await proxy.streamInfo('orders')).epoch;
    await proxy.stop('SIGKILL');
    for (const p of pages) await waitFor(async () => (await stateOf(p)).connection === 'reconnecting', { what: 'every tab to notice' });
    change(); // while pollbridge is down
    await pages[0].screenshot({ path: path.join(ARTIFACTS, 'pollbridge-down.png') });
    await proxy.start(`127.0.0.1:${port}`);
    const before = (await proxy.streamInfo('orders')).last_id;
    assert.equal(epochOf(before), epoch, 'the ids survived the restart (state on disk)');
    for (const p of pages) await waitFor(async () => (await stateOf(p)).connection === 'live', { what: 'every tab live again' });
    startChanging(150);
    await sleep(600);
    stopChanging();
    await settle('after the restart');
    await assertConsecutive('restart', before, 3);
    assert.equal(await clients(), 1);
    for (const p of pages) assert.deepEqual((await stateOf(p)).errors, []);
    await pages[0].screenshot({ path: path.join(ARTIFACTS, 'after-restart.png') });
    assert.deepEqual(pageErrors, []);
  });
});

describe('the example page behind a proxy that buffers bodies up to 64 KiB (issue 21)', () => {
  let upstream;
  let proxy;
  let buffering;
  let context;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/api/orders', { orders: [order(1, 'new', 10), order(2, 'paid', 20)] });
    proxy = await new Pollbridge({
      streams: [{ name: 'orders', url: upstream.url('/api/orders'), interval: '100ms', diff: 'json-patch', key: 'id' }],
      server: { static_dir: STATIC, longpoll_timeout: '2s' },
    }).start();
    buffering = await new BufferingProxy(proxy.baseUrl).start();
    context = await browser.newContext();
  });
  after(async () => {
    if (context) await context.close();
    if (buffering) await buffering.stop();
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
  });

  test('the page shows the document and its changes, by long-poll', async () => {
    const page = await context.newPage();
    const errors = [];
    watchErrors(page, errors);
    const started = Date.now();
    await page.goto(`${buffering.baseUrl}/?bufferTimeout=1000`);
    await waitFor(async () => (await stateOf(page)).document?.orders?.length === 2, { what: 'the document behind the proxy' });
    const s = await stateOf(page);
    assert.equal(s.transport, 'long-poll');
    assert.equal(s.connection, 'live');
    assert.ok(Date.now() - started < 1000 + 5000, `shown after ${Date.now() - started} ms`);
    upstream.set('/api/orders', { orders: [order(1, 'shipped', 10), order(2, 'paid', 20), order(3, 'new', 5)] });
    await waitFor(async () => (await stateOf(page)).document?.orders?.length === 3, { what: 'a change by long-poll' });
    const after = await stateOf(page);
    assert.equal(after.document.orders[0].status, 'shipped');
    assert.deepEqual(after.errors, []);
    assert.ok(buffering.requests.some((u) => u.includes('transport=long-poll')), 'long-polls went through the proxy');
    await page.screenshot({ path: path.join(ARTIFACTS, 'behind-buffering-proxy.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('tokens from the browser', () => {
  let upstream;
  let proxy;
  let context;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/api/orders', { orders: [order(1, 'new', 1)] });
    proxy = await new Pollbridge({
      streams: [{ name: 'orders', url: upstream.url('/api/orders'), interval: '100ms', key: 'id' }],
      server: { static_dir: STATIC, cors_origins: ['*'] },
    }).start();
    context = await browser.newContext();
  });
  after(async () => {
    if (context) await context.close();
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
  });

  // The /events requests a page makes, with their headers.
  const eventsRequests = (page) => {
    const seen = [];
    page.on('request', async (r) => {
      if (/\/events/.test(r.url())) seen.push({ url: r.url(), method: r.method(), headers: await r.allHeaders() });
    });
    return seen;
  };

  test('EventSource transport: the token is a query parameter', async () => {
    const page = await context.newPage();
    const seen = eventsRequests(page);
    await page.goto(`${proxy.baseUrl}/?token=t0ken&shared=0`);
    await waitFor(async () => (await stateOf(page)).connection === 'live', { what: 'live' });
    const request = seen.find((r) => r.method === 'GET');
    assert.equal(new URL(request.url).searchParams.get('access_token'), 't0ken');
    assert.equal(request.headers.authorization, undefined);
    await page.close();
  });

  test('fetch transport across origins: Authorization: Bearer through the CORS preflight', async () => {
    const page = await context.newPage();
    const errors = [];
    watchErrors(page, errors);
    const seen = eventsRequests(page);
    // The page on http://localhost:<port>, pollbridge addressed as 127.0.0.1: two origins.
    await page.goto(`http://localhost:${proxy.port}/?transport=fetch&token=b3arer&shared=0&api=${encodeURIComponent(proxy.baseUrl)}`);
    await waitFor(async () => (await stateOf(page)).connection === 'live', { what: 'live across origins' });
    upstream.set('/api/orders', { orders: [order(1, 'paid', 1)] });
    await waitFor(async () => (await stateOf(page)).document?.orders[0].status === 'paid', { what: 'a change' });
    const request = seen.find((r) => r.method === 'GET');
    assert.equal(request.headers.authorization, 'Bearer b3arer');
    assert.ok(!request.url.includes('b3arer'), request.url);
    assert.ok(request.url.startsWith(proxy.baseUrl), 'a cross-origin request');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
