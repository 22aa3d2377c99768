// "Tabs" in one Node process for the tab-sharing tests: each tab is a fresh
// instance of clients/js/pollbridge.js (its own module state), and the tabs
// share a lock manager and a broadcast bus that the test controls. They
// follow the Web Locks and BroadcastChannel semantics the module relies on:
//
//  * FakeLocks: exclusive locks granted in request order; a request can be
//    aborted while it waits; a holder keeps the lock until the promise its
//    callback returned settles (or the test kills the tab).
//  * FakeBus: postMessage structured-clones the message and delivers it
//    asynchronously to every other channel of the same name, in posting
//    order per receiver. A receiver can be held (its messages queue) and
//    released later, optionally in another order, to reproduce the races
//    of a handover deterministically.
import { clientModuleUrl } from './harness.mjs';

export class FakeLocks {
  constructor() {
    this.queues = new Map(); // name -> [{callback, resolve, reject, held, owner}]
  }

  request(name, options, callback) {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(name) || [];
      this.queues.set(name, queue);
      const entry = { callback, resolve, reject, held: false };
      const signal = options && options.signal;
      if (signal) {
        signal.addEventListener('abort', () => {
          if (entry.held || !queue.includes(entry)) return;
          queue.splice(queue.indexOf(entry), 1);
          reject(new DOMException('the request was aborted', 'AbortError'));
        });
      }
      queue.push(entry);
      this._grant(name);
    });
  }

  /** The number of requests waiting or holding `name`. */
  pending(name) {
    return (this.queues.get(name) || []).length;
  }

  _grant(name) {
    const queue = this.queues.get(name);
    const entry = queue[0];
    if (!entry || entry.held) return;
    entry.held = true;
    setImmediate(() => {
      let result;
      try {
        result = Promise.resolve(entry.callback({ name, mode: 'exclusive' }));
      } catch (error) {
        result = Promise.reject(error);
      }
      entry.release = (how, value) => {
        if (!queue.includes(entry)) return;
        queue.splice(queue.indexOf(entry), 1);
        how(value);
        this._grant(name);
      };
      result.then(
        (v) => entry.release(entry.resolve, v),
        (e) => entry.release(entry.reject, e),
      );
    });
  }
}

export class FakeBus {
  constructor() {
    this.channels = new Set();
    this.held = new Set(); // tab names whose deliveries queue
    this.queues = new Map(); // tab name -> [{channel, data, from}]
    this.log = []; // every message posted: {from, data}
  }

  /** A BroadcastChannel class for one tab. */
  channelClass(tab) {
    const bus = this;
    return class FakeChannel {
      constructor(name) {
        this.name = name;
        this.tab = tab;
        this.onmessage = null;
        this.closed = false;
        bus.channels.add(this);
      }
      postMessage(message) {
        if (this.closed) throw new DOMException('the channel is closed', 'InvalidStateError');
        const data = structuredClone(message);
        bus.log.push({ from: tab, data });
        for (const other of bus.channels) {
          if (other === this || other.name !== this.name || other.closed) continue;
          bus._send(other, structuredClone(data), tab);
        }
      }
      close() {
        this.closed = true;
        bus.channels.delete(this);
      }
    };
  }

  _send(channel, data, from) {
    if (this.held.has(channel.tab)) {
      const queue = this.queues.get(channel.tab) || [];
      this.queues.set(channel.tab, queue);
      queue.push({ channel, data, from });
      return;
    }
    setImmediate(() => {
      if (!channel.closed && channel.onmessage) channel.onmessage({ data });
    });
  }

  /** Messages to `tab` queue until release(). */
  hold(tab) {
    this.held.add(tab);
  }

  /** The messages queued for `tab`. */
  queued(tab) {
    return this.queues.get(tab) || [];
  }

  /**
   * Delivers what was queued for `tab` (first those `first` selects, then
   * the rest, each in posting order) and stops holding it.
   */
  release(tab, first = () => false) {
    const queue = this.queues.get(tab) || [];
    this.queues.delete(tab);
    this.held.delete(tab);
    const ordered = [...queue.filter(first), ...queue.filter((m) => !first(m))];
    for (const { channel, data } of ordered) {
      setImmediate(() => {
        if (!channel.closed && channel.onmessage) channel.onmessage({ data });
      });
    }
  }
}

let instances = 0;

/** A fresh instance of the client module: a tab of its own. */
export async function loadClient() {
  return import(`${clientModuleUrl}?instance=${++instances}`);
}

/**
 * Opens a "tab": a new module instance watching `url` with the shared
 * locks and bus. Records every change and status; `changes` and `ids`
 * list what the page saw.
 */
export async function openTab(name, url, { locks, bus, options = {} }) {
  const client = await loadClient();
  const tab = { name, client, changes: [], statuses: [], errors: [] };
  tab.watch = client.watch(url, {
    transport: 'fetch',
    locks,
    BroadcastChannel: bus.channelClass(name),
    onChange: (doc, change) => tab.changes.push({ ...change, doc: structuredClone(doc) }),
    onStatus: (status) => tab.statuses.push(structuredClone(status)),
    onError: (error) => tab.errors.push(error.message),
    ...options,
  });
  // What the browser does when a tab dies: its connection and channel go,
  // its lock is released; the tab says nothing (no "bye").
  tab.crash = () => {
    const g = tab.watch.g;
    if (g.link) g.link.close();
    g.link = null;
    g.watches.clear();
    if (g.bc) g.bc.close();
    if (g.release) g.release();
    if (g.abort) g.abort.abort();
  };
  tab.ids = (stream) => tab.changes.filter((c) => !stream || c.stream === stream).map((c) => c.id);
  return tab;
}
