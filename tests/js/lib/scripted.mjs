// Scripted stand-ins for the unit tests of the client's state machine
// (client.test.mjs, longpoll.test.mjs): a clock whose time moves only when the test says, an
// EventSource and a fetch whose every answer the test gives by hand.
//
//  * FakeClock replaces globalThis.setTimeout / clearTimeout and Date.now
//    while installed (Node 18 has no mock.timers). tick(ms) runs the timers
//    that fall due in order, letting promise reactions run after each one
//    (setImmediate is left real for that).
//  * ScriptedEventSource: open(), emit(type, id, stream, data), raw(type,
//    id, text), fail(); next(n) waits for the n-th one made.
//  * ScriptedFetch: records each request; the test answers it with
//    answer(status, json, headers) (a JSON body, as long-poll has), stream()
//    (200 text/event-stream whose body the test writes with push(), or
//    never), or refuse() (a network error). An aborted request rejects the
//    way fetch does.

import { waitFor } from './harness.mjs';

const flush = () => new Promise((resolve) => setImmediate(resolve));

export class FakeClock {
  constructor() {
    this.now = 1_700_000_000_000;
    this.timers = new Map(); // id -> {at, fn, seq}
    this.seq = 0;
  }

  install() {
    this.saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, now: Date.now };
    globalThis.setTimeout = (fn, ms = 0, ...args) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.now + Math.max(0, Number(ms) || 0), fn: () => fn(...args), seq: id });
      return id;
    };
    globalThis.clearTimeout = (id) => this.timers.delete(id);
    Date.now = () => this.now;
    return this;
  }

  uninstall() {
    globalThis.setTimeout = this.saved.setTimeout;
    globalThis.clearTimeout = this.saved.clearTimeout;
    Date.now = this.saved.now;
  }

  /** Lets pending promise reactions run (a few rounds: async functions chain). */
  async settle() {
    for (let i = 0; i < 5; i++) await flush();
  }

  /** Moves the time to the next timer and runs it; false when there is none. */
  async next() {
    let at = Infinity;
    for (const t of this.timers.values()) at = Math.min(at, t.at);
    if (at === Infinity) return false;
    await this.tick(at - this.now);
    return true;
  }

  /** Runs timers one by one until `check()` holds (at most `max` of them). */
  async until(check, max = 50) {
    for (let i = 0; i < max && !check(); i++) if (!(await this.next())) break;
    if (!check()) throw new Error('the clock ran out of timers before the condition held');
  }

  /** Moves the time on by `ms`, running every timer that falls due, in order. */
  async tick(ms) {
    const end = this.now + ms;
    await this.settle();
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) if (t.at <= end && (!next || t.at < next[1].at || (t.at === next[1].at && t.seq < next[1].seq))) next = [id, t];
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].fn();
      await this.settle();
    }
    this.now = end;
    await this.settle();
  }
}

export class ScriptedEventSource {
  static all = [];
  constructor(url) {
    this.url = url;
    this.at = Date.now(); // when it was made (the fake clock's time)
    this.closed = false;
    this.listeners = {};
    ScriptedEventSource.all.push(this);
  }
  addEventListener(type, f) {
    this.listeners[type] = f;
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen();
  }
  emit(type, id, stream, data) {
    this.listeners[type]({ lastEventId: id, data: JSON.stringify({ stream, data }) });
  }
  raw(type, id, text) {
    this.listeners[type]({ lastEventId: id, data: text });
  }
  fail() {
    this.onerror();
  }
  static last() {
    return ScriptedEventSource.all.at(-1);
  }
  static async next(count) {
    await waitFor(() => ScriptedEventSource.all.length >= count, { what: `connection ${count}` });
    return ScriptedEventSource.all[count - 1];
  }
}

const aborted = () => new DOMException('This operation was aborted', 'AbortError');

export class ScriptedFetch {
  constructor() {
    this.requests = [];
    this.fetch = (url, init = {}) => this._request(String(url), init);
  }

  _request(url, init) {
    const req = { url, headers: { ...(init.headers || {}) }, signal: init.signal, done: false };
    req.query = new URL(url).searchParams;
    const settled = new Promise((resolve, reject) => {
      req.resolve = resolve;
      req.reject = reject;
    });
    if (req.signal?.aborted) {
      req.aborted = true;
      return Promise.reject(aborted());
    }
    req.signal?.addEventListener('abort', () => {
      req.aborted = true;
      if (!req.done) req.reject(aborted());
      if (req.readerReject) req.readerReject(aborted());
    });
    const finish = (f) => {
      if (req.done) throw new Error(`request ${url} answered twice`);
      req.done = true;
      f();
    };
    const headersOf = (h) => ({ get: (name) => h[name.toLowerCase()] ?? null });
    req.answer = (status, json, headers = {}) =>
      finish(() =>
        req.resolve({
          status,
          headers: headersOf({ 'content-type': 'application/json', ...headers }),
          json: async () => (typeof json === 'string' ? JSON.parse(json) : structuredClone(json)),
        }),
      );
    // 200 text/event-stream; its body gives what push() writes, and ends with end().
    req.stream = () =>
      finish(() => {
        const chunks = [];
        let wake = null;
        req.push = (text) => {
          chunks.push(new TextEncoder().encode(text));
          if (wake) wake();
        };
        req.end = () => {
          chunks.push(null);
          if (wake) wake();
        };
        req.resolve({
          status: 200,
          headers: headersOf({ 'content-type': 'text/event-stream' }),
          body: {
            getReader: () => ({
              read: () =>
                new Promise((resolve, reject) => {
                  if (req.aborted) return reject(aborted());
                  req.readerReject = reject;
                  const give = () => {
                    const c = chunks.shift();
                    resolve(c ? { done: false, value: c } : { done: true });
                  };
                  if (chunks.length) give();
                  else wake = () => ((wake = null), give());
                }),
            }),
          },
        });
      });
    req.refuse = () => finish(() => req.reject(new TypeError('fetch failed')));
    this.requests.push(req);
    return settled;
  }

  /** Requests not answered (nor aborted) yet. */
  pending() {
    return this.requests.filter((r) => !r.done && !r.aborted);
  }

  /** The only pending request whose URL matches `pattern`; fails otherwise. */
  one(pattern = /./) {
    const found = this.pending().filter((r) => pattern.test(r.url));
    if (found.length !== 1) {
      throw new Error(`expected one pending request matching ${pattern}, found ${found.length}: ${this.pending().map((r) => r.url).join(' ')}`);
    }
    return found[0];
  }
}
