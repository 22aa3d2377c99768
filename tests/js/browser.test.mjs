// The example page (examples/web) in headless Chromium, served by the real
// pollbridge in front of a fake legacy backend that the test changes step by
// step: the page's live document must follow the backend, show staleness
// while the backend fails, and reconnect by itself after pollbridge restarts.
//
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), driven by
// playwright-core over its DevTools pipe; nothing is downloaded.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { FakeUpstream, Pollbridge, makeTestCertificates, repoRoot, waitFor } from './lib/harness.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// These machines reach no network: keep Chromium from trying.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const order = (id, status, total, customer = id % 5) => ({ id, customer, status, product: `item ${id}`, quantity: 1, total, currency: 'EUR' });

// The page shows the document without updatedAt (pollbridge ignores it).
const shown = ({ updatedAt, ...rest }) => rest;

describe('the example page in headless Chromium', () => {
  let upstream;
  let proxy;
  let browser;
  let page;
  let doc;
  const pageErrors = [];

  const setDoc = (next, stamp) => {
    doc = { updatedAt: `2024-05-01T10:00:${String(stamp).padStart(2, '0')}Z`, ...next };
    upstream.set('/api/orders', doc);
  };
  const state = () => page.evaluate(() => JSON.parse(JSON.stringify(window.pollbridgeState)));
  // Waits until the page's document equals the upstream's (minus updatedAt).
  const pageFollows = async (what) => {
    const expected = shown(doc);
    await waitFor(
      async () => {
        const s = await state();
        assert.deepEqual(s.document, expected);
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
        {
          name: 'orders',
          url: upstream.url('/api/orders'),
          interval: '100ms',
          timeout: '2s',
          diff: 'json-patch',
          key: 'id',
          ignore: ['/updatedAt'],
        },
      ],
      server: { static_dir: path.join(repoRoot, 'examples', 'web'), retry: '300ms' },
    }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource|EventSource/.test(message.text())) {
        pageErrors.push(message.text());
      }
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
  });

  test('the page shows the upstream document and follows inserts, deletes and moves', async () => {
    await page.goto(proxy.baseUrl + '/');
    await pageFollows('the first snapshot');
    assert.equal(await page.locator('#orders-body tr').count(), 3);
    assert.equal(await page.locator('#connection').textContent(), 'open');

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
    const s = await state();
    assert.equal(s.counts.snapshot, 1, 'one snapshot, then only patches');
    assert.ok(s.counts.patch >= steps.length, `patches: ${JSON.stringify(s.counts)}`);
    assert.deepEqual(s.errors, []);
    assert.ok(s.lastEventId, 'the page shows the last event id');
    assert.equal(await page.locator('#last-id').textContent(), s.lastEventId);
    // The table shows the rows in the document's order, with the money as the backend wrote it.
    const ids = await page.locator('#orders-body tr td:first-child').allTextContents();
    assert.deepEqual(ids.map(Number), doc.orders.map((o) => o.id));
    assert.match(await page.locator('#orders-body').textContent(), /99\.90 EUR/);
    assert.deepEqual(pageErrors, []);
  });

  test('a stale banner shows while the upstream fails and goes away when it recovers', async () => {
    assert.equal(await page.locator('#stale-banner').isVisible(), false);
    upstream.fail('/api/orders', 503);
    try {
      await waitFor(() => page.locator('#stale-banner').isVisible(), { what: 'the stale banner' });
      assert.match(await page.locator('#stale-text').textContent(), /^stale: \S/);
      const s = await state();
      assert.equal(s.stale, true);
      assert.ok(s.staleReason.length > 0);
      assert.deepEqual(s.document, shown(doc), 'the last good document stays on the page');
    } finally {
      setDoc({ orders: [...doc.orders, order(6, 'new', 1)] }, 30);
      upstream.recover('/api/orders');
    }
    await waitFor(async () => !(await page.locator('#stale-banner').isVisible()), { what: 'the banner to go' });
    await pageFollows('the document after recovery');
    assert.equal((await state()).stale, false);
    assert.deepEqual(pageErrors, []);
  });

  test('the page reconnects by itself after pollbridge is killed and restarted', async () => {
    const port = proxy.port;
    const before = await state();
    await proxy.stop('SIGKILL');
    await waitFor(async () => (await state()).connection !== 'open', { what: 'the page to notice the lost connection' });
    assert.notEqual(await page.locator('#connection').textContent(), 'open');

    // The backend changes while pollbridge is down.
    setDoc({ orders: [order(7, 'new', 42), ...doc.orders.slice(1)] }, 40);
    await proxy.start(`127.0.0.1:${port}`);
    await waitFor(async () => (await state()).connection === 'open', { what: 'the page to reconnect' });
    await pageFollows('the document after the restart');

    // The restarted pollbridge kept no state (--memory): the page's last id
    // is unknown to it, so it sent a fresh snapshot, which the page took.
    const s = await state();
    assert.equal(s.counts.snapshot, before.counts.snapshot + 1);
    assert.notEqual(s.lastEventId, before.lastEventId);
    assert.deepEqual(s.errors, []);

    // And it keeps following changes.
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
      server: { static_dir: path.join(repoRoot, 'examples', 'web') },
    }).start();
    const muxPage = await browser.newPage();
    try {
      await muxPage.goto(mux.baseUrl + '/mux.html');
      const muxState = () => muxPage.evaluate(() => JSON.parse(JSON.stringify(window.pollbridgeState)));
      await waitFor(
        async () => {
          const s = await muxState();
          assert.deepEqual(s.documents.orders, shown(doc));
          assert.equal(s.documents.board, 'ORDER BOARD\nnew 2\n');
          return true;
        },
        { what: 'both streams on the mux page' },
      );
      upstream.set('/api/board', 'ORDER BOARD\nnew 3\n', 'text/plain');
      setDoc({ orders: [...doc.orders, order(8, 'paid', 2.5)] }, 50);
      await waitFor(
        async () => {
          const s = await muxState();
          assert.deepEqual(s.documents.orders, shown(doc));
          assert.equal(s.documents.board, 'ORDER BOARD\nnew 3\n');
          return true;
        },
        { what: 'both streams to change on the mux page' },
      );
      assert.equal(await muxPage.locator('#board').textContent(), 'ORDER BOARD\nnew 3\n');
      const s = await muxState();
      assert.equal(s.lastEventId.split(',').length, 2, `a composite id: ${s.lastEventId}`);
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
      assert.equal(await securePage.locator('#connection').textContent(), 'open');
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
