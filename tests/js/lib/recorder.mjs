// Records what an independent SSE client (npm's `eventsource`, a WHATWG
// EventSource implementation) receives from pollbridge, and lets a test wait
// for the next events.
import { EventSource } from 'eventsource';
import { WAIT_MS, sleep } from './harness.mjs';

export const EVENT_TYPES = ['snapshot', 'patch', 'merge-patch', 'created', 'updated', 'deleted', 'status', 'message'];

export class Recorder {
  /**
   * Opens `url`. `lastEventId` is sent as the Last-Event-ID header of the
   * first request (the way a browser sends it when it reconnects).
   */
  constructor(url, { lastEventId } = {}) {
    this.events = []; // {type, id, data} in arrival order
    this.read = 0; // events already handed out by next()
    this.errors = 0;
    this.opened = new Promise((resolve) => {
      this._opened = resolve;
    });
    this._wake = null;
    const fetchWithId = (input, init) => {
      const headers = { ...init.headers };
      if (lastEventId && !headers['Last-Event-ID']) headers['Last-Event-ID'] = lastEventId;
      return fetch(input, { ...init, headers });
    };
    this.source = new EventSource(url, { fetch: fetchWithId });
    this.source.onopen = () => this._opened();
    this.source.onerror = () => {
      this.errors++;
    };
    for (const type of EVENT_TYPES) {
      this.source.addEventListener(type, (event) => {
        this.events.push({ type, id: event.lastEventId, data: event.data });
        if (this._wake) this._wake();
      });
    }
  }

  /** The next `count` events not yet returned; fails if they do not come within `timeout`. */
  async next(count = 1, timeout = WAIT_MS) {
    const deadline = Date.now() + timeout;
    while (this.events.length < this.read + count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const got = this.events.slice(this.read).map((e) => `${e.type} ${e.id}`);
        throw new Error(`expected ${count} more event(s) within ${timeout} ms, got [${got.join(', ')}]`);
      }
      await new Promise((resolve) => {
        this._wake = resolve;
        setTimeout(resolve, Math.min(left, 100));
      });
    }
    const out = this.events.slice(this.read, this.read + count);
    this.read += count;
    return out;
  }

  /** Fails if any event beyond those returned arrives within `ms`. */
  async expectQuiet(ms) {
    await sleep(ms);
    const extra = this.events.slice(this.read);
    if (extra.length > 0) {
      throw new Error(`unexpected event(s): ${extra.map((e) => `${e.type} ${e.id} ${e.data}`).join(' | ')}`);
    }
  }

  close() {
    this.source.close();
  }
}
