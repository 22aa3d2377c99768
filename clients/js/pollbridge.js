// pollbridge.js: the browser client of pollbridge (docs/client.md is the
// manual, docs/protocol.md the wire contract).
//
//   import pollbridge from '/pollbridge.js?v=0.1.0';
//   const w = pollbridge.watch('/events/orders', {
//     onChange(doc, change) { render(doc); },
//     onStatus(status) { banner(status.state, status.reason); },
//   });
//
// A dependency-free ES module in one file, because pollbridge serves it as
// one cacheable resource (GET /pollbridge.js, built into the binary). It
// holds, in this order:
//   1. the appliers: RFC 6901 pointers, RFC 6902 JSON Patch, RFC 7386 merge
//      patch, items events (pure functions, exported);
//   2. Replica: one stream's document and last id, with duplicate and gap
//      detection;
//   3. the transports: EventSource, and a fetch-based reader implementing the
//      WHATWG event-stream rules (for an Authorization header);
//   3b. the long-poll transport (one JSON answer per request);
//   4. Link: the one connection (always the multiplexed endpoint) with
//      resuming, backoff, token refresh and isolation of refused streams;
//   4b. the fallback: from streaming to long-poll behind a buffering proxy,
//      and back (methods of Link, kept together at its end);
//   5. Group: the streams a tab watches, shared with the other tabs of the
//      origin (Web Locks elect the tab that holds the Link; BroadcastChannel
//      carries its events to the others);
//   6. Watch and watch(): what a page gets.
//
// Everything runs on the page's main thread (or a worker's): there is no
// concurrency inside the module, only interleaving of events.

/** The client's version: pollbridge's version (the build checks they match). */
export const VERSION = '0.1.0';

// ---------------------------------------------------------------------------
// 1. Appliers

const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
// Defines a member without setters: "__proto__" from a document is a name.
const put = (o, k, v) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

/** A deep copy of a JSON value. */
export function clone(v) {
  if (Array.isArray(v)) return v.map(clone);
  if (!isObject(v)) return v;
  const c = {};
  for (const k of Object.keys(v)) put(c, k, clone(v[k]));
  return c;
}

/** JSON equality: member order does not count, array order does. */
export function equal(a, b) {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const k = Object.keys(a);
  return k.length === Object.keys(b).length && k.every((n) => own(b, n) && equal(a[n], b[n]));
}

/** Thrown when an event cannot be applied; nothing was modified. */
export class PatchError extends Error {}
PatchError.prototype.name = 'PatchError';
const fail = (m) => {
  throw new PatchError(m);
};

/** RFC 6901: "/a~1b/0" -> ["a/b", "0"]. */
export function parsePointer(p) {
  if (typeof p !== 'string' || (p && p[0] !== '/')) fail(`bad pointer ${JSON.stringify(p)}`);
  if (/~([^01]|$)/.test(p)) fail(`bad escape in ${p}`);
  return p ? p.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~')) : [];
}

// An array index token; "-" (one past the end) only where `end` allows it.
function index(t, a, end, p) {
  if (t === '-' && end) return a.length;
  if (!/^(0|[1-9]\d*)$/.test(t) || +t > a.length - (end ? 0 : 1)) fail(`${p}: no index ${t} in an array of ${a.length}`);
  return +t;
}

// The container of the location `tokens` name, and the last token.
function parentOf(doc, tokens, p) {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[index(t, node, false, p)];
    else if (isObject(node) && own(node, t)) node = node[t];
    else fail(`${p}: no ${t}`);
  }
  if (typeof node !== 'object' || node === null) fail(`${p}: not in an object or array`);
  return [node, tokens[tokens.length - 1]];
}

function get(doc, p) {
  const tokens = parsePointer(p);
  if (!tokens.length) return doc;
  const [n, k] = parentOf(doc, tokens, p);
  if (Array.isArray(n)) return n[index(k, n, false, p)];
  if (!own(n, k)) fail(`${p}: no ${k}`);
  return n[k];
}

// add and replace at `p` (an existing member keeps its place); each returns
// the new root.
function add(doc, p, v, replace) {
  const tokens = parsePointer(p);
  if (!tokens.length) return replace ? (get(doc, p), v) : v;
  const [n, k] = parentOf(doc, tokens, p);
  if (Array.isArray(n)) n.splice(index(k, n, !replace, p), replace ? 1 : 0, v);
  else if (replace && !own(n, k)) fail(`${p}: no ${k}`);
  else put(n, k, v);
  return doc;
}

function remove(doc, p, out = []) {
  const tokens = parsePointer(p);
  if (!tokens.length) fail('cannot remove the root');
  const [n, k] = parentOf(doc, tokens, p);
  if (Array.isArray(n)) out.push(n.splice(index(k, n, false, p), 1)[0]);
  else {
    if (!own(n, k)) fail(`${p}: no ${k}`);
    out.push(n[k]);
    delete n[k];
  }
  return doc;
}

function field(op, name) {
  if (!own(op, name) || (name !== 'value' && typeof op[name] !== 'string')) fail(`${op.op} needs "${name}"`);
  return op[name];
}

function operation(doc, op) {
  if (!isObject(op)) fail('an operation must be an object');
  const path = field(op, 'path');
  switch (field(op, 'op')) {
    case 'add':
      return add(doc, path, clone(field(op, 'value')));
    case 'remove':
      return remove(doc, path);
    case 'replace':
      return add(doc, path, clone(field(op, 'value')), true);
    case 'move': {
      const from = field(op, 'from');
      if (from === path) {
        get(doc, from); // must exist; otherwise nothing to do
        return doc;
      }
      if (path.startsWith(from + '/')) fail(`cannot move ${from} into itself`);
      const taken = [];
      return add(remove(doc, from, taken), path, taken[0]);
    }
    case 'copy':
      return add(doc, path, clone(get(doc, field(op, 'from'))));
    case 'test':
      if (!equal(get(doc, path), field(op, 'value'))) fail(`test failed at ${path}`);
      return doc;
    default:
      return fail(`unknown op ${op.op}`);
  }
}

/**
 * Applies an RFC 6902 patch and returns the new document. All or nothing: on
 * an error a PatchError is thrown and `doc` is unchanged (it never is).
 */
export function applyPatch(doc, patch) {
  if (!Array.isArray(patch)) fail('a patch must be an array');
  return patch.reduce((d, op, i) => {
    try {
      return operation(d, op);
    } catch (e) {
      throw e instanceof PatchError ? new PatchError(`operation ${i}: ${e.message}`) : e;
    }
  }, clone(doc));
}

/** Applies an RFC 7386 merge patch and returns the new document (`target` is unchanged). */
export function applyMergePatch(target, patch) {
  if (!isObject(patch)) return clone(patch);
  const r = isObject(target) ? clone(target) : {};
  for (const k of Object.keys(patch)) {
    if (patch[k] === null) delete r[k];
    else put(r, k, applyMergePatch(own(r, k) ? r[k] : undefined, patch[k]));
  }
  return r;
}

/** A stream's `key` (a member name, or a pointer when it starts with "/") as a pointer. */
export const keyPointer = (key = 'id') => (key[0] === '/' ? key : '/' + key.replace(/~/g, '~0').replace(/\//g, '~1'));

/**
 * Applies a created / updated / deleted event (`diff: items`) to an array and
 * returns the new array. Elements are matched by their key member; an updated
 * or created element is placed at `index`.
 */
export function applyItemEvent(array, type, data, key) {
  if (!Array.isArray(array)) fail(`${type}: the document is not an array`);
  if (!isObject(data) || !own(data, 'key') || (type !== 'deleted' && !own(data, 'value'))) fail(`${type}: bad data`);
  const pointer = keyPointer(key);
  const want = JSON.stringify(data.key);
  const r = array.filter((e) => {
    try {
      return JSON.stringify(get(e, pointer)) !== want;
    } catch {
      return true;
    }
  });
  if (type !== 'deleted') r.splice(Math.min(Math.max(+data.index || 0, 0), r.length), 0, clone(data.value));
  return r;
}

// ---------------------------------------------------------------------------
// 2. Replica: one stream's document

// How `id` follows `last` (ids are <epoch>-<seq>, seq +1 per event; see
// docs/protocol.md): 0 seen already (or older), 1 the next one, 2 a gap or
// another epoch. Ids of another form only compare equal (0) or not (1).
const ID = /^([0-9a-f]+)-(\d+)$/;
function follows(last, id) {
  const a = ID.exec(last);
  const b = ID.exec(id);
  if (!a || !b) return last === id ? 0 : 1;
  if (a[1] !== b[1]) return 2;
  const d = b[2] - a[2];
  return d <= 0 ? 0 : d === 1 ? 1 : 2;
}

class Gap extends PatchError {}

class Replica {
  constructor(key) {
    this.key = key;
    this.reset();
  }
  reset() {
    this.has = false; // a document is held (a text stream's may be "")
    this.doc = undefined;
    this.id = ''; // the id of the last event taken
    this.status = null; // the last status event's data
    this.fresh = false; // the last event was a snapshot: its stream's latest status may skip ids
  }
  // Takes one event in. Returns false for one seen already; throws a
  // PatchError when it cannot apply (a Gap when events are missing).
  take(type, data, id) {
    // A status pollbridge could not record comes without an id (its data
    // says "recording": false; on a multiplexed connection its id part is
    // empty or the previous one): it changes the status, never the position.
    if (type === 'status' && (!id || (isObject(data) && data.recording === false))) {
      if (equal(this.status, data)) return false;
      this.status = data;
      return true;
    }
    const f = follows(this.id, id);
    if (type === 'snapshot') {
      // A snapshot older than what we hold is the document we hold (later
      // events were statuses).
      if (this.has && f === 0) return false;
      this.doc = data;
      this.has = true;
    } else {
      if (f === 0) return false;
      if (f === 2 && this.has && !(this.fresh && type === 'status')) throw new Gap(`missed events between ${this.id} and ${id}`);
      if (type === 'status') this.status = data;
      else if (!this.has) fail(`${type} before a snapshot`);
      else if (type === 'patch') this.doc = applyPatch(this.doc, data);
      else if (type === 'merge-patch') this.doc = applyMergePatch(this.doc, data);
      else this.doc = applyItemEvent(this.doc, type, data, this.key);
    }
    this.id = id;
    this.fresh = type === 'snapshot';
    return true;
  }
  // Takes a copy from the leader tab unless ours is as new. Returns true if
  // a document was taken. A copy without a document (a stream that never
  // had one) only brings its status to a replica without one.
  adopt([, has, doc, id, status]) {
    if (!has) {
      if (!this.has) Object.assign(this, { id, status });
      return false;
    }
    if (this.has && follows(this.id, id) === 0) return false;
    Object.assign(this, { has, doc, id, status, fresh: false });
    return true;
  }
}

// ---------------------------------------------------------------------------
// 3. Transports. transport(url, headers, link, options) opens one connection,
// calls link.opened(), link.message(type, data, lastEventId), link.alive()
// for any sign of life (the fetch reader: any bytes), and finally once
// link.failed(httpStatus or 0, retryMs, retryAfterMs), and returns {close()}.

const TYPES = ['snapshot', 'patch', 'merge-patch', 'created', 'updated', 'deleted', 'status'];

// Retry-After (seconds, or an HTTP date) in ms; 0 without one.
function retryAfter(res) {
  const h = res.headers && res.headers.get('retry-after');
  const ms = !h ? 0 : /^\d+$/.test(h) ? h * 1000 : Date.parse(h) - Date.now();
  return ms > 0 ? ms : 0;
}

// [HTTP status (0 when there is none), Retry-After in ms] of a GET, learnt
// without reading the body: EventSource does not tell why it failed.
async function probe(url, headers, o) {
  const c = new AbortController();
  try {
    const res = await (o.fetch || fetch)(url, { headers, signal: c.signal, cache: 'no-store' });
    return [res.status, retryAfter(res)];
  } catch {
    return [0, 0];
  } finally {
    c.abort();
  }
}

// Whether the first bytes of a GET's body arrive within `ms`. Asked when an
// EventSource showed nothing: it hides comments and the `retry` line that
// pollbridge always sends first, so its silence alone proves nothing.
async function firstBytes(url, headers, o, ms) {
  const c = new AbortController();
  const timer = setTimeout(() => c.abort(), ms);
  try {
    const res = await (o.fetch || fetch)(url, { headers, signal: c.signal, cache: 'no-store' });
    return res.status === 200 && !(await res.body.getReader().read()).done;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    c.abort();
  }
}

function viaEventSource(url, headers, link, o) {
  const es = new (o.EventSource || globalThis.EventSource)(url);
  let open = false;
  es.onopen = () => {
    open = true;
    link.opened();
  };
  // The browser's own reconnect is not used: the Link reconnects with ids
  // and a token it chooses, after a delay it chooses.
  es.onerror = async () => {
    es.close();
    const [status, after] = open ? [0, 0] : await probe(url, headers, o);
    link.failed(status, 0, after);
  };
  for (const t of TYPES) es.addEventListener(t, (e) => link.message(t, e.data, e.lastEventId));
  return { close: () => es.close() };
}

/**
 * The event-stream parser of the WHATWG HTML standard ("Parsing an event
 * stream"): lines end with CRLF, LF or CR (also when a CRLF is split between
 * chunks); a line starting with ":" is a comment; "name: value" loses one
 * space after the colon, a line without a colon is a name with an empty
 * value; data lines are joined with LF; an id containing NUL is ignored;
 * retry takes ASCII digits only; a blank line dispatches, unless no data
 * came; unknown fields are ignored; an unfinished event at the end of the
 * stream is dropped. A leading BOM is removed by TextDecoder. Returns
 * feed(text) with `feed.retry` and `feed.id` (the last event ID).
 *
 * Hand-written: no Debian or npm package can be used by a dependency-free
 * browser module.
 */
export function eventStreamParser(emit) {
  let rest = '';
  let cr = false;
  let data = '';
  let type = '';
  const feed = (text) => {
    if (cr && text[0] === '\n') text = text.slice(1);
    const lines = (rest + text).split(/\r\n|\r|\n/);
    cr = (rest + text).endsWith('\r');
    rest = lines.pop();
    for (const line of lines) {
      if (!line) {
        if (data) emit(type || 'message', data.slice(0, -1), feed.id);
        data = type = '';
        continue;
      }
      const c = line.indexOf(':');
      if (c === 0) continue;
      const name = c < 0 ? line : line.slice(0, c);
      const value = c < 0 ? '' : line.slice(line[c + 1] === ' ' ? c + 2 : c + 1);
      if (name === 'data') data += value + '\n';
      else if (name === 'event') type = value;
      else if (name === 'id' && !value.includes('\0')) feed.id = value;
      else if (name === 'retry' && /^\d+$/.test(value)) feed.retry = +value;
    }
  };
  feed.id = '';
  feed.retry = 0;
  return feed;
}

function viaFetch(url, headers, link, o) {
  const c = new AbortController();
  let timer;
  // With idleTimeout, a connection silent for that long (no event and no
  // heartbeat) is taken for dead: half-open TCP connections never end.
  const idle = () => {
    clearTimeout(timer);
    if (o.idleTimeout) timer = setTimeout(() => c.abort(), o.idleTimeout);
  };
  (async () => {
    const feed = eventStreamParser((t, d, id) => TYPES.includes(t) && link.message(t, d, id));
    let status = 0;
    let after = 0;
    try {
      idle();
      const res = await (o.fetch || fetch)(url, { headers, signal: c.signal, cache: 'no-store' });
      if (res.status !== 200 || !/^text\/event-stream/i.test(res.headers.get('content-type'))) {
        status = res.status === 200 ? 0 : res.status;
        after = retryAfter(res);
        throw 0;
      }
      link.opened();
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (let r; !(r = await reader.read()).done; ) {
        idle();
        link.alive();
        feed(decoder.decode(r.value, { stream: true }));
      }
    } catch {
      // ended below
    }
    clearTimeout(timer);
    c.abort();
    link.failed(status, feed.retry, after);
  })();
  return { close: () => c.abort() };
}

// ---------------------------------------------------------------------------
// 3b. Long-poll (docs/protocol.md, Long-poll): one request at a time with
// ?transport=long-poll, answered {"events":[{id, event, data}],"last_id"}
// with the events after its position (`data` is the payload itself, not a
// string); the next request goes at once from `last_id`. A request with
// nothing to answer waits on the server (server.longpoll_timeout), so
// "opened" cannot wait for an answer: it is the first answer, or the first
// request still waiting after LP_OPEN_MS (a refusal comes at once).

const LP_OPEN_MS = 1000;
// An empty answer quicker than this (a server or proxy that does not hold
// the request) delays the next request by as much: never a request loop.
const LP_MIN_MS = 1000;

function viaLongPoll(url, headers, link, o) {
  const c = new AbortController();
  const u = new URL(url);
  u.searchParams.set('transport', 'long-poll');
  let up = false;
  const opened = () => up || ((up = true), link.opened());
  const timer = setTimeout(opened, LP_OPEN_MS);
  (async () => {
    let status = 0;
    let after = 0;
    try {
      while (!c.signal.aborted) {
        const sent = Date.now();
        const res = await (o.fetch || fetch)(String(u), { headers, signal: c.signal, cache: 'no-store' });
        if (res.status !== 200) {
          status = res.status;
          after = retryAfter(res);
          throw 0;
        }
        const body = await res.json();
        if (!isObject(body) || !Array.isArray(body.events)) throw 0;
        opened();
        link.alive();
        for (const e of body.events) if (isObject(e) && TYPES.includes(e.event)) link.message(e.event, e.data, e.id || '', true);
        if (typeof body.last_id === 'string' && body.last_id) u.searchParams.set('lastEventId', body.last_id);
        if (!body.events.length && Date.now() - sent < LP_MIN_MS) await new Promise((r) => setTimeout(r, LP_MIN_MS));
      }
    } catch {
      // ended below
    }
    clearTimeout(timer);
    c.abort();
    link.failed(status, 0, after);
  })();
  return {
    close() {
      clearTimeout(timer);
      c.abort();
    },
  };
}

const TRANSPORTS = { eventsource: viaEventSource, fetch: viaFetch, 'long-poll': viaLongPoll };

// ---------------------------------------------------------------------------
// 4. Link: the connection, held by one tab of a group.

// Reconnect delays: from the server's `retry` (or 1 s) doubling to 30 s,
// each with up to +50% random jitter so that clients do not come back at once.
const RETRY_MS = 1000;
const RETRY_MAX_MS = 30000;
// A stream the server refused (400 or 404) is left out for this long, then tried again.
const REFUSED_MS = 30000;
// New streams from other tabs within this window share one reconnect.
const GROW_MS = 20;
// The fallback's defaults (4b): bufferTimeout, streamRetryAfter, and the
// number of connections in a row ending at once that mean a buffering proxy.
const BUFFER_MS = 5000;
const STREAM_RETRY_MS = 300000;
const QUICK_ENDS = 3;

// Whether `token` is a JWT whose `exp` has passed (false for other tokens).
function expired(token) {
  try {
    const exp = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp;
    return typeof exp === 'number' && exp * 1000 <= Date.now();
  } catch {
    return false;
  }
}

// "customer/3" -> "customer/3", "a b" -> "a%20b": an address as a URL path.
const pathOf = (s) => s.split('/').map(encodeURIComponent).join('/');

class Link {
  constructor(group) {
    this.g = group;
    this.gen = 0; // bumped per connection: callbacks of older ones are ignored
    this.failures = 0;
    this.retry = RETRY_MS;
    this.streams = [];
    this.lp = false; // fallen back to long-poll (4b)
    this.quick = 0; // connections in a row that ended at once, delivering nothing
    this.open();
  }

  // The transport of the next (or current) connection.
  get kind() {
    const t = this.g.o.transport;
    return t === 'long-poll' || this.lp ? 'long-poll' : t === 'fetch' ? 'fetch' : 'eventsource';
  }

  // (Re)connects now for the group's current streams, resuming each from
  // the id of its replica.
  async open() {
    const g = this.g;
    const o = g.o;
    const gen = ++this.gen;
    clearTimeout(this.timer);
    clearTimeout(this.quiet);
    if (this.t) this.t.close();
    this.t = null;
    this.wasOpen = false;
    const streams = g.union().filter((s) => !g.refused[s]);
    if (!streams.length) return g.setConn('reconnecting', 'no stream to watch');
    let token = o.token;
    if (typeof token === 'function') {
      try {
        if (this.token === undefined || this.refresh) this.token = await token();
      } catch (e) {
        if (gen === this.gen) this.retryLater('unauthorized', `token: ${e && e.message}`);
        return;
      }
      if (gen !== this.gen) return;
      this.refresh = false;
      token = this.token;
    }
    this.streams = streams;
    g.prune(streams);
    const id = streams.map((s) => g.rep(s).id).join(',');
    const kind = this.kind;
    // The token goes in a header with the fetch reader and forced
    // long-poll; in the query otherwise (so that a long-poll fallback from
    // EventSource uses the place the server took before).
    const header = o.transport === 'fetch' || o.transport === 'long-poll';
    const q = new URLSearchParams(g.extra);
    for (const s of streams) q.append('stream', s);
    const headers = kind === 'fetch' ? { Accept: 'text/event-stream' } : {};
    if (token && header) headers.Authorization = 'Bearer ' + token;
    else if (token) q.set(g.tokenParam, token);
    // An id made of commas only names nothing: start fresh.
    if (/[^,]/.test(id)) {
      if (kind === 'fetch') headers['Last-Event-ID'] = id;
      else q.set('lastEventId', id);
    }
    this.url = `${g.base}/events?${q}`;
    this.headers = headers;
    const cb = (f) => (...a) => gen === this.gen && f.apply(this, a);
    this.t = TRANSPORTS[kind](
      this.url,
      headers,
      { opened: cb(this.opened), message: cb(this.message), failed: cb(this.failed), alive: cb(this.alive) },
      o,
    );
    this.watchStart(cb);
    if (g.conn.transport !== kind) g.setConn(g.conn.state, g.conn.reason, kind);
    g.announce();
  }

  opened() {
    this.failures = 0;
    this.authTried = false;
    this.proven = new Set(this.streams);
    this.wasOpen = true;
    this.g.setConn('live');
  }

  // `text` is the event's data; long-poll gives it `parsed`.
  message(type, text, lastEventId, parsed) {
    this.alive();
    let env = text;
    try {
      if (!parsed) env = JSON.parse(text);
    } catch {
      env = null;
    }
    const i = env && this.streams.indexOf(env.stream);
    // Something that is not our envelope is ignored: the next event of its
    // stream then shows a gap, which resynchronises that stream.
    if (!isObject(env) || i < 0 || !own(env, 'data')) return this.g.error(new PatchError(`bad event ${type}`));
    this.g.event(env.stream, type, env.data, lastEventId.split(',')[i] || '');
  }

  async failed(status, retry, after) {
    const g = this.g;
    const gen = this.gen;
    this.t = null;
    clearTimeout(this.quiet);
    if (retry) this.retry = retry;
    // An open stream that ends once its token has expired was closed by the
    // server for that reason (docs/security.md, Expiry): a fresh token, and
    // at once, from where the replicas are. Once per connection that opened.
    if (!status && this.wasOpen && typeof g.o.token === 'function' && expired(this.token)) {
      this.wasOpen = false;
      this.refresh = true;
      return this.open();
    }
    if (status === 401 || status === 403) {
      this.refresh = true; // ask the token function again
      if (typeof g.o.token === 'function' && !this.authTried) {
        this.authTried = true;
        return this.open();
      }
      return this.retryLater('unauthorized', `HTTP ${status}`);
    }
    if (!status && this.endedAtOnce()) return;
    if ((status === 400 || status === 404) && ((await this.isolate()) || gen !== this.gen)) return;
    this.retryLater('reconnecting', status ? `HTTP ${status}` : 'connection lost', after);
  }

  // One refused stream must not take the others down: finds the streams not
  // yet proven that the server refuses on their own, leaves them out for a
  // while and reconnects with the rest. True if it found some.
  async isolate() {
    const g = this.g;
    const gen = this.gen;
    const headers = { ...this.headers };
    delete headers['Last-Event-ID'];
    const token = new URLSearchParams(this.url.split('?')[1]).get(g.tokenParam);
    const refused = [];
    for (const s of this.streams) {
      if (this.proven && this.proven.has(s)) continue;
      const q = new URLSearchParams(g.extra);
      if (token && !headers.Authorization) q.set(g.tokenParam, token);
      const qs = String(q);
      const [status] = await probe(`${g.base}/events/${pathOf(s)}${qs ? '?' + qs : ''}`, headers, g.o);
      if (status === 400 || status === 404) refused.push([s, status]);
    }
    if (gen !== this.gen || !refused.length) return false;
    for (const [s, status] of refused) g.refused[s] = `HTTP ${status}`;
    clearTimeout(g.refusedTimer);
    g.refusedTimer = setTimeout(() => {
      g.refused = {};
      if (g.link === this) this.open();
    }, REFUSED_MS);
    g.setConn(g.conn.state);
    this.open();
    return true;
  }

  // Reconnects after the backoff delay, or the server's Retry-After (ms) if longer.
  retryLater(state, reason, after = 0) {
    this.g.setConn(state, reason);
    const delay = Math.max(Math.min(this.retry * 2 ** this.failures++, RETRY_MAX_MS) * (1 + Math.random() / 2), after);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }

  // Streams were added: reconnect soon (several additions share it).
  grow() {
    if (this.g.union().every((s) => this.streams.includes(s) || this.g.refused[s])) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), GROW_MS);
  }

  close() {
    this.gen++;
    clearTimeout(this.timer);
    clearTimeout(this.quiet);
    clearTimeout(this.streamTimer);
    if (this.t) this.t.close();
    this.t = null;
  }

  // -------------------------------------------------------------------------
  // 4b. The fallback (transport 'auto', the default, and 'fetch'; off with
  // bufferTimeout: 0). Proxies, gateways and antivirus scanners that buffer
  // a response until it ends or fills a buffer let a streaming connection
  // open and then show nothing. Two signs of one:
  //   - nothing at all (no event; with the fetch reader not even a byte)
  //     within bufferTimeout of the request. EventSource hides comments and
  //     the `retry` line pollbridge sends first, so an EventSource that
  //     showed nothing by half of bufferTimeout is checked with
  //     firstBytes(): a GET of the same URL whose first bytes must come
  //     within the other half (they come within a round trip unless
  //     something buffers);
  //   - QUICK_ENDS connections in a row that opened and ended within
  //     bufferTimeout having delivered nothing.
  // Then the Link reconnects with long-poll from its replicas' ids: events
  // after them come by long-poll, duplicates are skipped by id, so nothing
  // is lost or applied twice. After streamRetryAfter it streams again (and
  // stays if the stream works; if not, back to long-poll the same way).

  get fallback() {
    const t = this.g.o.transport;
    return (t === undefined || t === 'auto' || t === 'fetch') && this.bufferMs > 0;
  }

  get bufferMs() {
    const b = this.g.o.bufferTimeout;
    return b === undefined ? BUFFER_MS : b;
  }

  // A connection starts: watch it for silence.
  watchStart(cb) {
    this.delivered = false;
    this.started = Date.now();
    const es = this.kind === 'eventsource';
    if (this.fallback && this.kind !== 'long-poll') this.quiet = setTimeout(cb(this.silent), es ? this.bufferMs / 2 : this.bufferMs);
  }

  // Something came on the connection: it is not buffered.
  alive() {
    this.delivered = true;
    this.quick = 0;
    clearTimeout(this.quiet);
  }

  async silent() {
    const gen = this.gen;
    if (this.kind === 'eventsource' && (await firstBytes(this.url, this.headers, this.g.o, this.bufferMs / 2))) return;
    if (gen === this.gen && !this.delivered) this.toLongPoll(`nothing within ${this.bufferMs} ms`);
  }

  // A connection ended with no HTTP error: true if that made the Link switch.
  endedAtOnce() {
    if (!this.fallback || this.kind === 'long-poll' || !this.wasOpen || this.delivered) return false;
    if (Date.now() - this.started >= this.bufferMs || ++this.quick < QUICK_ENDS) return false;
    this.toLongPoll(`${QUICK_ENDS} connections ended at once`);
    return true;
  }

  toLongPoll(why) {
    const o = this.g.o;
    this.lp = true;
    this.quick = 0;
    clearTimeout(this.streamTimer);
    this.streamTimer = setTimeout(
      () => {
        this.lp = false;
        this.open();
      },
      o.streamRetryAfter === undefined ? STREAM_RETRY_MS : o.streamRetryAfter,
    );
    this.g.setConn('reconnecting', `streaming looks buffered (${why}): long-poll`);
    this.open();
  }
}

// ---------------------------------------------------------------------------
// 5. Group: one tab's streams of one pollbridge, shared with the other tabs.
//
// Each tab keeps a Replica of every stream of the group. The tab holding the
// Web Lock is the leader: it holds the Link for the union of the streams the
// tabs watch and posts every event it takes on the BroadcastChannel.
// Messages ({t: type, from: tab, ...}):
//   hi    {streams: {name: key}, ids: {name: id}}  a tab's streams and how far it is
//   bye   a tab leaves
//   lead  a tab became the leader: the others say hi again
//   need  {streams}  a follower lost track of these streams (a gap)
//   ev    {s, type, data, id}  an event the leader took
//   sync  {reps: [[name, has, doc, id, status]]}  the leader's copies
//   link  {conn, streams, refused}  the leader's connection state
// Ids make every path idempotent: an event or copy a tab already has is
// skipped, and a gap makes the follower ask the leader for its copy. That
// covers the handover: the new leader resumes from its own ids, and events
// the old leader posted meanwhile are duplicates.

const groups = new Map(); // scope -> shared Group of this tab
// After an election, the old leader's streams stay in the union this long
// (other tabs say hi again within it).
const KNOWN_MS = 2000;

const tabId = () => Math.random().toString(36).slice(2);

class Group {
  constructor(scope, base, extra, o, shared) {
    this.scope = scope;
    this.base = base;
    this.extra = extra;
    this.o = o;
    this.tokenParam = o.tokenParam || 'access_token';
    this.tab = tabId();
    this.watches = new Set();
    this.reps = new Map(); // stream -> Replica
    this.keys = {}; // stream -> key, as the tabs declared it
    this.peers = new Map(); // leader: tab -> its streams
    this.known = []; // the leader's union, as it last said
    this.refused = {}; // stream -> why the server refused it
    this.conn = { state: 'reconnecting', reason: 'connecting', transport: o.transport === 'long-poll' || o.transport === 'fetch' ? o.transport : 'eventsource' };
    this.link = null;
    const locks = o.locks || (globalThis.navigator && navigator.locks);
    const Channel = o.BroadcastChannel || globalThis.BroadcastChannel;
    if (shared && locks && Channel) {
      this.bc = new Channel('pollbridge ' + scope);
      this.bc.onmessage = (e) => this.receive(e.data);
      this.locks = locks;
    }
  }

  // Queues for the lock; holds it (leads) until resign().
  elect() {
    const abort = (this.abort = new AbortController());
    this.locks
      .request('pollbridge ' + this.scope, { signal: abort.signal }, () => new Promise((release) => {
        // Granted after resign() (abort comes too late once granted): pass it on.
        if (abort !== this.abort) return release();
        this.release = release;
        this.lead();
      }))
      .catch(() => {});
    this.hi();
  }

  resign() {
    clearTimeout(this.knownTimer);
    clearTimeout(this.refusedTimer);
    if (this.link) this.link.close();
    this.link = null;
    if (this.release) this.release();
    if (this.abort) this.abort.abort();
    this.release = this.abort = null;
  }

  lead() {
    this.peers.clear();
    clearTimeout(this.knownTimer);
    this.knownTimer = setTimeout(() => {
      this.known = [];
    }, KNOWN_MS);
    this.post({ t: 'lead' });
    this.link = new Link(this);
  }

  post(m) {
    if (this.bc) this.bc.postMessage({ ...m, from: this.tab });
  }

  mine() {
    const m = {};
    for (const w of this.watches) for (const s of w.streams) m[s] = w.key;
    return m;
  }

  hi() {
    const ids = {};
    for (const [s, r] of this.reps) if (r.has) ids[s] = r.id;
    this.post({ t: 'hi', streams: this.mine(), ids });
  }

  // The streams of the connection: this tab's, then the other tabs'.
  union() {
    const all = new Set([...Object.keys(this.mine()), ...this.known]);
    for (const p of this.peers.values()) for (const s of Object.keys(p)) all.add(s);
    return [...all];
  }

  rep(s) {
    if (!this.reps.has(s)) this.reps.set(s, new Replica(this.keys[s] || this.mine()[s] || 'id'));
    return this.reps.get(s);
  }

  // Forgets replicas of streams nobody watches any more.
  prune(keep) {
    const mine = this.mine();
    for (const s of this.reps.keys()) if (!keep.includes(s) && !own(mine, s)) this.reps.delete(s);
  }

  // One event, from the Link (leader) or the leader tab (follower).
  event(s, type, data, id) {
    const r = this.rep(s);
    let taken;
    try {
      taken = r.take(type, data, id);
    } catch (e) {
      // A follower that joined recently gets events before its copy: fine.
      if (!this.link && !r.has) return;
      this.error(e);
      r.reset();
      if (this.link) this.link.open(); // an empty id part: a fresh snapshot of this stream
      else this.post({ t: 'need', streams: [s] });
      return;
    }
    if (!taken) return;
    if (this.link) this.post({ t: 'ev', s, type, data, id });
    this.changed(s, type, data);
  }

  changed(s, type, data) {
    for (const w of this.watches) if (w.streams.includes(s)) type === 'status' ? w.update() : w.change(s, type, data);
  }

  error(e) {
    for (const w of this.watches) call(w.o.onError, e);
  }

  setConn(state, reason, transport = this.link ? this.link.kind : this.conn.transport) {
    this.conn = { state, reason, transport };
    this.announce();
    for (const w of this.watches) w.update();
  }

  // Leader: tells the followers the connection's state and streams.
  announce() {
    if (this.link) this.post({ t: 'link', conn: this.conn, streams: this.link.streams, refused: this.refused });
  }

  // Leader: posts its copies of `streams` (all when absent) unless `ids` shows the receiver has them.
  sync(streams, ids = {}) {
    const reps = [];
    for (const [s, r] of this.reps) {
      if ((!streams || streams.includes(s)) && (r.has || r.status) && ids[s] !== r.id) reps.push([s, r.has, r.doc, r.id, r.status]);
    }
    if (reps.length) this.post({ t: 'sync', reps });
  }

  receive(m) {
    if (!isObject(m) || m.from === this.tab || !this.watches.size) return;
    const leading = Boolean(this.link);
    switch (m.t) {
      case 'hi':
        Object.assign(this.keys, m.streams);
        if (!leading) return;
        this.peers.set(m.from, m.streams);
        this.link.grow();
        this.announce();
        return this.sync(null, m.ids);
      case 'bye':
        return this.peers.delete(m.from);
      case 'lead':
        return this.hi();
      case 'need':
        return leading && this.sync(m.streams);
      case 'ev':
        return leading || this.event(m.s, m.type, m.data, m.id);
      case 'sync':
        if (leading) return;
        for (const e of m.reps) if (this.rep(e[0]).adopt(e)) this.changed(e[0], 'snapshot', e[2]);
        for (const w of this.watches) w.update();
        return;
      case 'link':
        if (leading) return;
        this.known = m.streams;
        this.refused = m.refused;
        this.prune(m.streams);
        return this.setConn(m.conn.state, m.conn.reason, m.conn.transport);
    }
  }

  add(w) {
    this.watches.add(w);
    for (const s of w.streams) this.keys[s] = this.keys[s] || w.key;
    if (this.link) this.link.grow();
    else if (!this.bc) this.lead(); // not shared: this tab's own connection
    else if (!this.abort) this.elect();
    else this.hi();
    // Not before watch() returns: a callback may use the watch.
    queueMicrotask(() => w.g && w.update());
  }

  remove(w) {
    this.watches.delete(w);
    if (this.watches.size) return this.hi();
    this.post({ t: 'bye' });
    this.resign();
    if (this.bc) this.bc.close();
    if (groups.get(this.scope) === this) groups.delete(this.scope);
  }
}

// A page callback: its exceptions are reported (as uncaught errors are),
// never break the client.
function call(f, ...a) {
  try {
    if (f) f(...a);
  } catch (e) {
    if (globalThis.reportError) reportError(e);
    else
      setTimeout(() => {
        throw e;
      });
  }
}

// A page that is put in the back/forward cache hands the connection over,
// and takes part again when it is shown.
if (globalThis.addEventListener) {
  addEventListener('pagehide', (e) => {
    for (const g of groups.values()) {
      g.post({ t: 'bye' });
      if (e.persisted) g.resign();
    }
  });
  addEventListener('pageshow', (e) => {
    if (e.persisted) for (const g of groups.values()) g.elect();
  });
}

// ---------------------------------------------------------------------------
// 6. Watch

class Watch {
  constructor(streams, o) {
    this.streams = streams;
    this.o = o;
    this.key = o.key || 'id';
    this.status = null;
  }
  /** The document of the (first) stream. */
  get document() {
    return this.documents[this.streams[0]];
  }
  /** Every stream's document, by stream. */
  get documents() {
    const d = {};
    for (const s of this.streams) {
      const r = this.g.reps.get(s);
      if (r && r.has) d[s] = r.doc;
    }
    return d;
  }
  /** Where this watch is, as a (composite) id: each stream's last id, joined by ",". */
  get lastEventId() {
    return this.streams.map((s) => (this.g.reps.get(s) || {}).id || '').join(',');
  }
  /** Whether this tab holds the connection. */
  get leader() {
    return Boolean(this.g && this.g.link);
  }
  close() {
    if (this.g) this.g.remove(this);
    this.g = null;
  }
  change(s, type, data) {
    const r = this.g.reps.get(s);
    call(this.o.onChange, r.doc, { stream: s, type, id: r.id, data });
  }
  // Recomputes the status; tells the page when it changed.
  update() {
    const g = this.g;
    let { state, reason } = g.conn;
    const streams = {};
    for (const s of this.streams) streams[s] = (g.reps.get(s) || {}).status || null;
    const label = (s, why) => (this.streams.length > 1 ? `${s}: ${why}` : why);
    const refused = this.streams.filter((s) => g.refused[s]);
    const stale = this.streams.filter((s) => streams[s] && streams[s].state === 'stale');
    if (state === 'live' && refused.length) {
      state = 'reconnecting';
      reason = refused.map((s) => label(s, g.refused[s])).join('; ');
    } else if (state === 'live' && stale.length) {
      state = 'stale';
      reason = stale.map((s) => label(s, streams[s].reason || 'upstream failing')).join('; ');
    }
    const was = this.status;
    const transport = g.conn.transport;
    this.status = { state, reason, transport, streams };
    if (!was || was.state !== state || was.reason !== reason || was.transport !== transport) call(this.o.onStatus, this.status);
  }
}

const FORMATS = ['snapshot', 'json-patch', 'merge-patch'];
const TRANSPORT_OPTIONS = ['auto', 'eventsource', 'fetch', 'long-poll'];

/**
 * Keeps the documents of `url`: /events/{stream} or /events?stream=a&stream=b
 * (relative to the page, or absolute). See docs/client.md for the options.
 */
export function watch(url, o = {}) {
  const u = new URL(url, globalThis.location && location.href);
  const m = /^(.*)\/events(?:\/(.+))?$/.exec(u.pathname);
  const q = u.searchParams;
  const streams = m && (m[2] ? [decodeURIComponent(m[2])] : [...new Set(q.getAll('stream'))]);
  if (!streams || !streams.length) throw new TypeError(`pollbridge.watch: not an /events URL with a stream: ${url}`);
  const tokenParam = o.tokenParam || 'access_token';
  o = { ...o };
  if (q.has(tokenParam) && o.token === undefined) o.token = q.get(tokenParam);
  // The representation (docs/protocol.md, Formats): part of the query, so
  // tabs asking for different ones do not share a connection.
  if (o.transport !== undefined && !TRANSPORT_OPTIONS.includes(o.transport)) {
    throw new TypeError(`pollbridge.watch: transport must be one of ${TRANSPORT_OPTIONS.join(', ')}`);
  }
  if (o.format !== undefined) {
    if (!FORMATS.includes(o.format)) throw new TypeError(`pollbridge.watch: format must be one of ${FORMATS.join(', ')}`);
    q.set('format', o.format);
  }
  for (const k of ['stream', 'lastEventId', tokenParam]) q.delete(k);
  q.sort();
  const extra = q.toString();
  const base = u.origin + m[1];
  const w = new Watch(streams, o);
  const shared = o.shared !== false;
  const scope = JSON.stringify([base, extra, o.transport || 'auto', tokenParam, shared === true ? '' : String(o.shared)]);
  let g = shared && groups.get(scope);
  if (!g) {
    g = new Group(scope, base, extra, o, shared);
    if (g.bc) groups.set(scope, g);
  }
  w.g = g;
  g.add(w);
  return w;
}

export default { VERSION, watch, applyPatch, applyMergePatch, applyItemEvent };
