// Compression encoded once per event, read by independent decoders against
// the real binary (docs/protocol.md "Compression"):
//
//  * Node's zlib.createGunzip() decoding an SSE stream incrementally, as its
//    bytes arrive, gets the same events as an uncompressed client, each one
//    as soon as it is sent;
//  * Chromium's EventSource, which asks for gzip itself, receives the events
//    of a compressed session (pollbridge's compressed-sessions gauge counts
//    it while it is open).
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, FakeUpstream, Pollbridge, waitFor } from './lib/harness.mjs';


// A document of a few KiB that compresses well; `v` changes one member.
const documentOf = (v) => ({
  v,
  items: Array.from({ length: 60 }, (_, id) => ({ id, name: `item number ${id}`, status: 'open' })),
});

// Reads an SSE response, decoded through `decoder` (or not), into events.
class StreamReader {
  constructor(url, acceptEncoding) {
    this.events = [];
    this.wire = 0;
    this.text = '';
    this.ready = new Promise((resolve, reject) => {
      const headers = acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {};
      this.req = http.get(url, { headers }, (res) => {
        this.res = res;
        res.on('data', (chunk) => { this.wire += chunk.length; });
        let body = res;
        if (res.headers['content-encoding'] === 'gzip') {
          // Each chunk is decoded as it arrives; nothing waits for the end.
          body = res.pipe(zlib.createGunzip());
        }
        body.setEncoding('utf8');
        body.on('data', (text) => this.feed(text));
        body.on('error', (error) => { this.error = error; });
        resolve(res);
      });
      this.req.on('error', reject);
    });
  }

  feed(text) {
    this.text += text;
    let end;
    while ((end = this.text.indexOf('\n\n')) >= 0) {
      const block = this.text.slice(0, end);
      this.text = this.text.slice(end + 2);
      const event = { id: '', type: 'message', data: [] };
      let dispatch = false;
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) event.id = line.slice(4);
        else if (line.startsWith('event: ')) event.type = line.slice(7);
        else if (line.startsWith('data: ')) { event.data.push(line.slice(6)); dispatch = true; }
      }
      if (dispatch) this.events.push({ ...event, data: event.data.join('\n') });
    }
  }

  close() { this.req.destroy(); }
}

async function gauge(proxy, coding) {
  const text = await (await fetch(`${proxy.baseUrl}/metrics`)).text();
  const match = new RegExp(`^pollbridge_compressed_sessions\\{coding="${coding}"\\} (\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : -1;
}

describe('compressed event streams', () => {
  let upstream;
  let proxy;
  let browser;
  before(async () => {
    upstream = await new FakeUpstream().start();
    upstream.set('/doc', documentOf(0));
    proxy = await new Pollbridge({
      streams: [{ name: 'doc', url: upstream.url('/doc'), interval: '100ms' }],
      server: { compression: ['gzip'] },
    }).start();
  });
  after(async () => {
    if (browser) await browser.close();
    await proxy.stop();
    await upstream.stop();
  });

  test('zlib.createGunzip() decodes the stream incrementally: the same events as a plain client, each as it is sent', async () => {
    const plain = new StreamReader(`${proxy.baseUrl}/events/doc`);
    const gzip = new StreamReader(`${proxy.baseUrl}/events/doc`, 'gzip, deflate, br');
    try {
      const [plainRes, gzipRes] = await Promise.all([plain.ready, gzip.ready]);
      assert.equal(plainRes.headers['content-encoding'], undefined);
      assert.equal(gzipRes.headers['content-encoding'], 'gzip');
      assert.match(gzipRes.headers.vary, /Accept-Encoding/);
      await waitFor(() => plain.events.length >= 1 && gzip.events.length >= 1, { what: 'the snapshots' });
      assert.deepEqual(gzip.events[0], plain.events[0]);
      for (let v = 1; v <= 3; v++) {
        upstream.set('/doc', documentOf(v));
        await waitFor(() => plain.events.length > v, { what: `event ${v} (plain)` });
        // Once the plain client has it, the compressed one has it within a
        // short bound: no event is held in a compressor.
        await waitFor(() => gzip.events.length > v, { timeout: 1000, what: `event ${v} (gzip)` });
        assert.deepEqual(gzip.events[v], plain.events[v]);
      }
      assert.equal(gzip.error, undefined);
      assert.ok(gzip.wire * 2 < plain.wire, `compressed ${gzip.wire} bytes against ${plain.wire}`);
    } finally {
      plain.close();
      gzip.close();
    }
  });

  test("Chromium's EventSource receives the events of a gzip session", async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.goto(`${proxy.baseUrl}/healthz`);
    await waitFor(async () => (await gauge(proxy, 'gzip')) === 0, { what: 'no compressed session left' });
    const plain = new StreamReader(`${proxy.baseUrl}/events/doc`);
    try {
      await page.evaluate(() => {
        window.received = [];
        const source = new EventSource('/events/doc');
        for (const type of ['snapshot', 'patch']) {
          source.addEventListener(type, (e) => window.received.push({ id: e.lastEventId, type, data: e.data }));
        }
      });
      const received = () => page.evaluate(() => window.received);
      await waitFor(async () => (await received()).length >= 1, { what: 'the snapshot in Chromium' });
      // Chromium asked for gzip and got a compressed session.
      assert.equal(await gauge(proxy, 'gzip'), 1);
      await waitFor(() => plain.events.length >= 1, { what: 'the plain snapshot' });
      upstream.set('/doc', documentOf(10));
      await waitFor(() => plain.events.length >= 2, { what: 'the change (plain)' });
      await waitFor(async () => (await received()).length >= 2, { timeout: 1000, what: 'the change in Chromium' });
      const got = await received();
      assert.deepEqual(got[1], plain.events[1]);
    } finally {
      plain.close();
      await page.close();
    }
  });
});
