// HTTPS served by pollbridge itself, read by Node's own TLS client (https):
// a certificate from a CA the test makes with the openssl command line, the
// snapshot, patches that reproduce the upstream document exactly, and a
// resume with Last-Event-ID that replays exactly what was missed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { FakeUpstream, Pollbridge, WAIT_MS, makeTestCertificates, sleep } from './lib/harness.mjs';

/** An event stream over https, parsed by the WHATWG rules this test needs (LF line ends). */
class HttpsStream {
  constructor(url, ca, headers = {}) {
    this.events = [];
    this.read = 0;
    this.opened = new Promise((resolve, reject) => {
      this.req = https.get(url, { ca, headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        this.res = res;
        res.setEncoding('utf8');
        let buffer = '';
        let event = { type: 'message', data: [], id: undefined };
        res.on('data', (chunk) => {
          buffer += chunk;
          let nl;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line === '') {
              if (event.data.length) this.events.push({ type: event.type, id: event.id, data: event.data.join('\n') });
              event = { type: 'message', data: [], id: event.id };
            } else if (!line.startsWith(':')) {
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'event') event.type = value;
              else if (field === 'data') event.data.push(value);
              else if (field === 'id') event.id = value;
            }
          }
        });
        resolve(res);
      });
      this.req.on('error', reject);
    });
  }

  async next(count = 1) {
    const deadline = Date.now() + WAIT_MS;
    while (this.events.length < this.read + count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} more event(s), got ${this.events.length - this.read}`);
      await sleep(10);
    }
    const out = this.events.slice(this.read, this.read + count);
    this.read += count;
    return out;
  }

  close() {
    this.req.destroy();
  }
}

describe('pollbridge over HTTPS with Node\'s TLS client', () => {
  let certs;
  let upstream;
  let proxy;
  let ca;
  let base;
  let doc;
  const setDoc = (next) => {
    doc = next;
    upstream.set('/api/orders', doc);
  };

  before(async () => {
    certs = makeTestCertificates();
    ca = readFileSync(certs.ca);
    upstream = await new FakeUpstream().start();
    // Big enough that a change is a patch (no event is larger than its snapshot).
    setDoc({ orders: [{ id: 1, status: 'new' }, { id: 2, status: 'paid' }], total: 2, note: 'n'.repeat(300) });
    proxy = await new Pollbridge({
      streams: [{ name: 'orders', url: upstream.url('/api/orders'), interval: '100ms', key: 'id' }],
      server: { tls: { cert: certs.cert, key: certs.key } },
    }).start();
    base = `https://localhost:${proxy.port}`;
  });

  after(async () => {
    if (proxy) await proxy.dispose();
    if (upstream) await upstream.stop();
    if (certs) certs.dispose();
  });

  test('the certificate is the one made for localhost, and plain HTTP is refused', async () => {
    const res = await new Promise((resolve, reject) => {
      https.get(`${base}/healthz`, { ca }, resolve).on('error', reject);
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.socket.getPeerCertificate().subject.CN, 'localhost');
    assert.equal(res.socket.alpnProtocol, false, 'Node offers no ALPN by default');
    res.resume();
    const plain = await fetch(`http://127.0.0.1:${proxy.port}/healthz`);
    assert.equal(plain.status, 400);
  });

  test('snapshot, exact patches, and a resume with Last-Event-ID', async () => {
    const stream = new HttpsStream(`${base}/events/orders`, ca);
    const res = await stream.opened;
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'], /^text\/event-stream/);
    const [snapshot] = await stream.next();
    assert.equal(snapshot.type, 'snapshot');
    let mine = JSON.parse(snapshot.data);
    assert.deepEqual(mine, doc);

    const changes = [
      (d) => ({ ...d, orders: [...d.orders, { id: 3, status: 'new' }], total: 3 }),
      (d) => ({ ...d, orders: d.orders.map((o) => (o.id === 1 ? { ...o, status: 'shipped' } : o)) }),
      (d) => ({ ...d, orders: d.orders.filter((o) => o.id !== 2), total: 2 }),
    ];
    let lastId = snapshot.id;
    for (const change of changes) {
      setDoc(change(doc));
      const [ev] = await stream.next();
      assert.equal(ev.type, 'patch');
      mine = jsonpatch.applyPatch(jsonpatch.deepClone(mine), JSON.parse(ev.data), true).newDocument;
      assert.deepEqual(mine, doc);
      lastId = ev.id;
    }
    stream.close();

    // Two changes while away; the resumed stream replays exactly those.
    setDoc({ ...doc, total: 10 });
    await sleep(300);
    setDoc({ ...doc, orders: [...doc.orders, { id: 4, status: 'new' }], total: 11 });
    await sleep(300);
    const resumed = new HttpsStream(`${base}/events/orders`, ca, { 'Last-Event-ID': lastId });
    await resumed.opened;
    const replay = await resumed.next(2);
    assert.deepEqual(replay.map((e) => e.type), ['patch', 'patch']);
    for (const ev of replay) mine = jsonpatch.applyPatch(jsonpatch.deepClone(mine), JSON.parse(ev.data), true).newDocument;
    assert.deepEqual(mine, doc);
    await sleep(300);
    assert.equal(resumed.events.length, 2, 'nothing more than what was missed');
    resumed.close();
  });
});
