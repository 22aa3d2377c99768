// The operator's console (/admin/, docs/console.md) in headless Chromium
// against the real binary and fake upstreams: a row per stream, a stream
// going stale and recovering shown live (through GET /admin/events, the
// overview as pollbridge's own event stream), "poll now" causing exactly one
// upstream request, the detail following a changing document with its
// event ids, a wrong token refused (unauthorized, no data), and the layout
// on a phone. The markup it reads (data-stream, data-state, data-action,
// data-document, data-events) is the console's contract.
//
// With PB_CONSOLE_SCREENSHOT=1 it also writes docs/console.png (the README's
// screenshot) at 1280x800.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, ADMIN_TOKEN, FakeUpstream, Pollbridge, repoRoot, sleep, waitFor } from './lib/harness.mjs';


const rowState = (page, name) => page.locator(`[data-stream="${name}"]`).getAttribute('data-state');

describe('the console', () => {
  let browser;
  let upstream; // orders and stock, polled every 200 ms
  let quiet; // polled once an hour: only "poll now" reaches it
  let proxy;
  let page;
  const errors = [];
  const requested = [];
  let doc = { orders: [{ id: 1, status: 'new' }] };

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    upstream = await new FakeUpstream().start();
    quiet = await new FakeUpstream().start();
    upstream.set('/orders', doc);
    upstream.set('/stock', { apples: 3, pears: 5 });
    quiet.set('/prices', { eur: 1 });
    quiet.set('/customer/7', { name: 'seven' });
    proxy = await new Pollbridge({
      streams: [
        { name: 'orders', url: upstream.url('/orders'), interval: '200ms', timeout: '2s', key: 'id' },
        { name: 'stock', url: upstream.url('/stock'), interval: '200ms', timeout: '2s', backoff_max: '300ms' },
        {
          name: 'prices',
          url: quiet.url('/prices') + '?api_key=query-secret',
          interval: '1h',
          timeout: '2s',
          headers: { Authorization: 'Bearer upstream-secret' },
        },
        {
          name: 'customer',
          url: quiet.url('/customer/{c}'),
          path: '/events/customer/{c}',
          params: { c: '^[0-9]{1,3}$' },
          interval: '1h',
          timeout: '2s',
        },
      ],
    }).start();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  });

  after(async () => {
    if (browser) await browser.close();
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
    if (quiet) await quiet.stop();
  });

  test('a row for every stream; the token leaves the address bar', async () => {
    await page.goto(`${proxy.baseUrl}/admin/#token=${ADMIN_TOKEN}`);
    await waitFor(async () => (await page.locator('[data-stream][data-state="ok"]').count()) === 3, {
      what: 'three streams ok',
    });
    const names = await page.locator('[data-stream]').evaluateAll((rows) => rows.map((r) => r.dataset.stream));
    assert.deepEqual(names.sort(), ['orders', 'prices', 'stock']);
    assert.equal(await page.locator('[data-stream] [data-action="poll"]').count(), 3);
    // The parameterized stream has no instance yet: its group row alone.
    const idle = page.locator('tr[data-group="customer"]');
    assert.equal(await idle.count(), 1);
    assert.match(await idle.textContent(), /customer \(0 instances\)/);
    assert.ok(!page.url().includes(ADMIN_TOKEN), page.url());
    assert.equal(await page.locator('#connection').getAttribute('data-auth'), 'ok');
    // Live through pollbridge's own event stream, with the product's client code.
    assert.ok(requested.includes('/admin/events'), requested.join(' '));
    assert.ok(requested.includes('/admin/pollbridge.js'), requested.join(' '));
    assert.ok(!requested.includes('/admin/state'), requested.join(' '));
  });

  test('a stream going stale and recovering shows live', async () => {
    upstream.fail('/stock', 503);
    const started = Date.now();
    await waitFor(async () => (await rowState(page, 'stock')) === 'stale', { what: 'stock stale' });
    assert.ok(Date.now() - started < 5000, 'stale within a few seconds');
    assert.match(await page.locator('[data-stream="stock"] .reason').textContent(), /503/);
    assert.equal(await rowState(page, 'orders'), 'ok');
    upstream.recover('/stock');
    await waitFor(async () => (await rowState(page, 'stock')) === 'ok', { what: 'stock ok again' });
  });

  test('poll now causes exactly one upstream request', async () => {
    const before = quiet.requests;
    await page.locator('[data-stream="prices"] [data-action="poll"]').click();
    await waitFor(() => quiet.requests === before + 1, { what: 'one request to the upstream' });
    // The button is usable again once the request is accepted; no second poll follows.
    await waitFor(async () => !(await page.locator('[data-stream="prices"] [data-action="poll"]').isDisabled()));
    await sleep(400);
    assert.equal(quiet.requests, before + 1);
  });

  test('the detail follows a changing document, with its events and masked config', async () => {
    await page.locator('[data-stream="orders"] button.link').click();
    const shown = async () => JSON.parse((await page.locator('[data-document]').textContent()) || 'null');
    await waitFor(async () => JSON.stringify(await shown()) === JSON.stringify(doc), { what: 'the first document' });
    const idsBefore = (await page.locator('[data-events]').getAttribute('data-events')).split(' ').filter(Boolean);
    for (const status of ['paid', 'shipped']) {
      doc = { orders: [{ id: 1, status }, { id: 2, status: 'new' }] };
      upstream.set('/orders', doc);
      await waitFor(async () => JSON.stringify(await shown()) === JSON.stringify(doc), { what: `the document with ${status}` });
    }
    const ids = (await page.locator('[data-events]').getAttribute('data-events')).split(' ').filter(Boolean);
    assert.ok(ids.length >= idsBefore.length + 2, `events: ${ids.join(' ')} (before: ${idsBefore.join(' ')})`);
    const seqs = ids.map((id) => Number(id.split('-').pop()));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'ids in order');
    assert.equal(await page.locator('#events li').count(), ids.length);
    assert.match(await page.locator('#detail-facts').textContent(), /HTTP 200/);
    // The tree view shows the same document, collapsible.
    assert.ok(await page.locator('#doc-tree details').count() >= 1);

    if (process.env.PB_CONSOLE_SCREENSHOT === '1') {
      await page.screenshot({ path: path.join(repoRoot, 'docs', 'console.png') });
    }

    await page.locator('[data-stream="prices"] button.link').click();
    await waitFor(async () => (await page.locator('#config').textContent()).includes('prices'), { what: 'prices detail' });
    const config = await page.locator('#config').textContent();
    assert.ok(!config.includes('upstream-secret') && !config.includes('query-secret'), config);
    assert.match(config, /\*\*\*/);
  });

  test('on a phone the page fits the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(50);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow: ${overflow}px`);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('a wrong token is refused: unauthorized, no data; the right one typed in connects', async () => {
    const context = await browser.newContext();
    const other = await context.newPage();
    try {
      await other.goto(`${proxy.baseUrl}/admin/#token=not-the-token`);
      await waitFor(async () => (await other.locator('#connection').getAttribute('data-auth')) === 'unauthorized', {
        what: 'the unauthorized state',
      });
      assert.ok(await other.locator('#unauthorized').isVisible());
      assert.equal(await other.locator('[data-stream]').count(), 0);
      assert.ok(!(await other.content()).includes('orders'));
      await other.locator('#token').fill(ADMIN_TOKEN);
      await other.locator('#token-form button[type="submit"]').click();
      await waitFor(async () => (await other.locator('[data-stream]').count()) === 3, { what: 'rows after typing the token' });
      assert.ok(!(await other.locator('#unauthorized').isVisible()));
    } finally {
      await context.close();
    }
    assert.deepEqual(errors, []);
  });

  test("a parameterized stream's instance is grouped under it, and poll now reaches it", async () => {
    // A subscriber makes the instance (and keeps it while connected).
    const subscriber = new AbortController();
    const res = await fetch(`${proxy.baseUrl}/events/customer/7`, { signal: subscriber.signal });
    assert.equal(res.status, 200);
    const row = page.locator('[data-stream="customer/7"]');
    // Its first poll done (state ok) before counting: that request would
    // otherwise land after `before` was read.
    await waitFor(
      async () =>
        (await row.count()) === 1 &&
        (await row.getAttribute('data-kind')) === 'parameterized' &&
        (await row.getAttribute('data-state')) === 'ok',
      { what: 'the instance row, polled once' },
    );
    assert.equal(await page.locator('tr[data-group="customer"]').count(), 1);
    const before = quiet.requests;
    await row.locator('[data-action="poll"]').click();
    await waitFor(() => quiet.requests === before + 1, { what: 'one request for customer/7' });
    assert.equal(await row.locator('td.num').first().textContent(), '1', 'its one client');
    subscriber.abort();
  });
});
