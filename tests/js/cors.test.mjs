// CORS with credentials in headless Chromium across two origins
// (docs/security.md): a page on http://localhost:<page port> opens
// `new EventSource(url, { withCredentials: true })` to pollbridge on
// http://localhost:<pollbridge port>. Same site (so the browser sends the
// pb_token cookie, SameSite=Lax), different origins (so CORS decides):
//
//  * the listed origin reads the stream and the document, with
//    Access-Control-Allow-Credentials: true and its own origin echoed;
//  * without the cookie the stream is refused (401) and nothing is read;
//  * an origin that is not listed gets no CORS headers, so the browser
//    hands the page nothing even though the cookie was valid.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, FakeUpstream, Pollbridge, waitFor } from './lib/harness.mjs';

const TOKEN = 'cookie-read-token-0123456789';

// A page server for one origin: / is a page that opens the stream given in
// its query and records what it gets in window.result.
async function pageServer() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    if (req.url.includes('mode=token')) {
      // A token in the Authorization header from another origin: the
      // browser preflights (OPTIONS) both the credentialed fetch and the
      // client's fetch transport.
      res.end(`<!doctype html><script type="module">
        const params = new URLSearchParams(location.search);
        const api = params.get('api');
        window.result = { fetched: null, fetchError: null, docs: [], states: [] };
        fetch(api + '/streams/orders', {
          credentials: 'include', headers: { Authorization: 'Bearer ${TOKEN}' },
        }).then(async (r) => { window.result.fetched = { status: r.status, body: await r.text() }; })
          .catch((e) => { window.result.fetchError = String(e); });
        const { default: pollbridge } = await import(api + '/pollbridge.js');
        pollbridge.watch(api + '/events/orders', {
          transport: 'fetch', shared: false, token: () => '${TOKEN}',
          onChange(doc) { window.result.docs.push(doc); },
          onStatus(s) { window.result.states.push(s.state); },
        });
      </script>`);
      return;
    }
    res.end(`<!doctype html><script>
      const params = new URLSearchParams(location.search);
      window.result = { events: [], errors: 0, opened: false, fetched: null, fetchError: null };
      const es = new EventSource(params.get('api') + '/events/orders', { withCredentials: true });
      es.onopen = () => { window.result.opened = true; };
      es.addEventListener('snapshot', (e) => window.result.events.push(JSON.parse(e.data)));
      es.onerror = () => { window.result.errors += 1; window.result.state = es.readyState; };
      fetch(params.get('api') + '/streams/orders', { credentials: 'include' })
        .then(async (r) => { window.result.fetched = { status: r.status, body: await r.text() }; })
        .catch((e) => { window.result.fetchError = String(e); });
    </script>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('CORS with credentials across two origins', () => {
  let browser;
  let upstream;
  let proxy;
  let listed;
  let unlisted;
  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    listed = await pageServer();
    unlisted = await pageServer();
    upstream = await new FakeUpstream().start();
    upstream.set('/api/orders', { orders: [{ id: 1, status: 'new', pad: 'x'.repeat(64) }] });
    proxy = await new Pollbridge({
      streams: [{ name: 'orders', url: upstream.url('/api/orders'), interval: '100ms' }],
      server: { cors_origins: [`http://localhost:${listed.address().port}`], cors_credentials: true },
      auth: { tokens: [TOKEN], cookie: 'pb_token' },
    }).start();
  });
  after(async () => {
    if (browser) await browser.close();
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
    listed?.close();
    unlisted?.close();
  });

  async function open(server, { cookie }) {
    const context = await browser.newContext();
    if (cookie) {
      await context.addCookies([{ name: 'pb_token', value: TOKEN, domain: 'localhost', path: '/', sameSite: 'Lax' }]);
    }
    const page = await context.newPage();
    const responses = [];
    page.on('response', (r) => {
      if (r.url().includes(`:${proxy.port}/`)) responses.push({ url: r.url(), status: r.status(), headers: r.headers() });
    });
    const api = `http://localhost:${proxy.port}`;
    await page.goto(`http://localhost:${server.address().port}/?api=${encodeURIComponent(api)}`);
    return { context, page, responses };
  }
  const resultOf = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.result)));

  test('the listed origin reads the stream and the document with its cookie', async () => {
    const { context, page, responses } = await open(listed, { cookie: true });
    const result = await waitFor(async () => {
      const r = await resultOf(page);
      return r.events.length > 0 && r.fetched ? r : null;
    }, { what: 'a snapshot and the document' });
    assert.equal(result.events[0].orders[0].status, 'new');
    assert.equal(result.fetched.status, 200);
    assert.equal(JSON.parse(result.fetched.body).orders[0].id, 1);
    const sse = responses.find((r) => r.url.includes('/events/orders'));
    assert.equal(sse.status, 200);
    assert.equal(sse.headers['access-control-allow-origin'], `http://localhost:${listed.address().port}`);
    assert.equal(sse.headers['access-control-allow-credentials'], 'true');
    await context.close();
  });

  test('without the cookie the stream is refused and nothing is read', async () => {
    const { context, page, responses } = await open(listed, { cookie: false });
    const result = await waitFor(async () => {
      const r = await resultOf(page);
      return r.errors > 0 && r.fetched ? r : null;
    }, { what: 'the refusal' });
    assert.equal(result.events.length, 0);
    assert.equal(result.opened, false);
    assert.equal(result.state, 2, 'EventSource gives up on a 401 (CLOSED)');
    assert.equal(result.fetched.status, 401);
    assert.ok(!result.fetched.body.includes('"orders"'));
    const sse = responses.find((r) => r.url.includes('/events/orders'));
    assert.equal(sse.status, 401);
    await context.close();
  });

  test('a token header from the listed origin passes the preflight, credentials included', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const api = `http://localhost:${proxy.port}`;
    await page.goto(`http://localhost:${listed.address().port}/?mode=token&api=${encodeURIComponent(api)}`);
    const result = await waitFor(async () => {
      const r = await resultOf(page);
      return (r.fetched || r.fetchError) && r.docs.length > 0 ? r : null;
    }, { what: 'the credentialed fetch and the fetch transport' });
    assert.equal(result.fetchError, null);
    assert.equal(result.fetched.status, 200);
    assert.equal(JSON.parse(result.fetched.body).orders[0].id, 1);
    assert.equal(result.docs[0].orders[0].status, 'new');
    // Both requests were preflighted (an Authorization header from another
    // origin): Chromium refuses a preflight whose Allow-Credentials reads
    // "true, true" (two fields), so the fetch above would have failed.
    await context.close();
  });

  test('an origin that is not listed gets no CORS headers, so its page reads nothing', async () => {
    const { context, page, responses } = await open(unlisted, { cookie: true });
    const result = await waitFor(async () => {
      const r = await resultOf(page);
      return r.errors > 0 && (r.fetched || r.fetchError) ? r : null;
    }, { what: 'the blocked responses' });
    assert.equal(result.events.length, 0);
    assert.equal(result.fetched, null, 'fetch must fail: the response is not shared');
    assert.ok(result.fetchError);
    for (const r of responses) {
      assert.equal(r.headers['access-control-allow-origin'], undefined, r.url);
      assert.equal(r.headers['access-control-allow-credentials'], undefined, r.url);
    }
    await context.close();
  });
});
