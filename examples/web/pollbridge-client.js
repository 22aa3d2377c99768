// pollbridge-client.js: keeps a live copy of pollbridge streams in the browser.
//
// A dependency-free ES module. It opens one EventSource, applies every event
// of pollbridge's wire contract to the documents it keeps, and tells the page
// what changed:
//
//   snapshot            the whole document (JSON, or the raw body for
//                       `diff: text` streams)
//   patch               RFC 6902 JSON Patch, applied strictly and atomically
//   merge-patch         RFC 7386 JSON Merge Patch
//   created / updated / deleted
//                       `diff: items`: one element of a keyed array
//   status              {"state":"stale"|"ok","reason":..,"since":..}
//
// On a multiplexed connection (/events?stream=a&stream=b) every payload is
// wrapped as {"stream":"a","data":<payload>} and the client keeps one
// document per stream.
//
// Usage:
//   import { PollbridgeClient } from './pollbridge-client.js';
//   const client = new PollbridgeClient('/events/orders', {
//     onChange: (doc, info) => render(doc),
//   });
//
// Reconnection: EventSource reconnects by itself after a network error and
// sends Last-Event-ID, so pollbridge replays exactly the missed events. When
// the browser gives up instead (an HTTP error such as 503 closes an
// EventSource for good), the client opens a new one after a growing delay and
// resumes with ?lastEventId=. If an event cannot be applied (the local copy
// no longer matches the server's), it drops its copy and reconnects without
// an id, which brings a fresh snapshot.

// ---------------------------------------------------------------------------
// JSON helpers

const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// Sets a member without going through setters: `__proto__` from a document is
// an ordinary member name, never the prototype.
function setMember(object, key, value) {
  Object.defineProperty(object, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** A deep copy of a JSON value. */
export function cloneJson(value) {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isObject(value)) {
    const copy = {};
    for (const key of Object.keys(value)) setMember(copy, key, cloneJson(value[key]));
    return copy;
  }
  return value;
}

/** JSON equality: member order does not count, array order does. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

// ---------------------------------------------------------------------------
// RFC 6901 JSON Pointer

/** Thrown when a JSON Patch cannot be applied; the document is left unchanged. */
export class JsonPatchError extends Error {
  constructor(message, index) {
    super(index === undefined ? message : `operation ${index}: ${message}`);
    this.name = 'JsonPatchError';
    this.index = index;
  }
}

/** The reference tokens of a pointer: "" -> [], "/a~1b/0" -> ["a/b", "0"]. */
export function parsePointer(pointer) {
  if (typeof pointer !== 'string') throw new JsonPatchError('a pointer must be a string');
  if (pointer === '') return [];
  if (pointer[0] !== '/') throw new JsonPatchError(`pointer "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) {
        throw new JsonPatchError(`pointer "${pointer}" has an invalid escape (only ~0 and ~1)`);
      }
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

// An array index token: "0", or digits without a leading zero. `-` (the end
// of the array) only when `allowEnd`. Returns the index.
function arrayIndex(token, array, allowEnd, pointer) {
  if (token === '-') {
    if (allowEnd) return array.length;
    throw new JsonPatchError(`"-" in "${pointer}" names no existing element`);
  }
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new JsonPatchError(`"${token}" in "${pointer}" is not an array index`);
  }
  const index = Number(token);
  const limit = allowEnd ? array.length : array.length - 1;
  if (!Number.isSafeInteger(index) || index > limit) {
    throw new JsonPatchError(`index ${token} in "${pointer}" is out of range (length ${array.length})`);
  }
  return index;
}

// The container holding the location a pointer names, and the last token.
function locate(doc, tokens, pointer) {
  let node = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const token = tokens[i];
    if (Array.isArray(node)) {
      node = node[arrayIndex(token, node, false, pointer)];
    } else if (isObject(node)) {
      if (!hasOwn(node, token)) throw new JsonPatchError(`"${pointer}": no member "${token}"`);
      node = node[token];
    } else {
      throw new JsonPatchError(`"${pointer}": cannot descend into a ${typeof node}`);
    }
  }
  if (!Array.isArray(node) && !isObject(node)) {
    throw new JsonPatchError(`"${pointer}": the parent is not an object or array`);
  }
  return { parent: node, last: tokens[tokens.length - 1] };
}

function getValue(doc, pointer) {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, last } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent, false, pointer)];
  if (!hasOwn(parent, last)) throw new JsonPatchError(`"${pointer}": no member "${last}"`);
  return parent[last];
}

// ---------------------------------------------------------------------------
// RFC 6902 JSON Patch

// Each operation returns the new root (the root changes when path is "").
function opAdd(doc, pointer, value) {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent, true, pointer), 0, value);
  } else {
    setMember(parent, last, value);
  }
  return doc;
}

function opRemove(doc, pointer) {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new JsonPatchError('cannot remove the whole document');
  const { parent, last } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    return { doc, removed: parent.splice(arrayIndex(last, parent, false, pointer), 1)[0] };
  }
  if (!hasOwn(parent, last)) throw new JsonPatchError(`"${pointer}": no member "${last}"`);
  const removed = parent[last];
  delete parent[last];
  return { doc, removed };
}

function opReplace(doc, pointer, value) {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    parent[arrayIndex(last, parent, false, pointer)] = value;
  } else {
    if (!hasOwn(parent, last)) throw new JsonPatchError(`"${pointer}": no member "${last}"`);
    setMember(parent, last, value);
  }
  return doc;
}

function member(op, name, kind) {
  if (!hasOwn(op, name)) throw new JsonPatchError(`"${op.op}" needs "${name}"`);
  if (kind === 'string' && typeof op[name] !== 'string') {
    throw new JsonPatchError(`"${name}" must be a string`);
  }
  return op[name];
}

function applyOperation(doc, op) {
  if (!isObject(op)) throw new JsonPatchError('an operation must be an object');
  const kind = member(op, 'op', 'string');
  const path = member(op, 'path', 'string');
  switch (kind) {
    case 'add':
      return opAdd(doc, path, cloneJson(member(op, 'value')));
    case 'remove':
      return opRemove(doc, path).doc;
    case 'replace':
      return opReplace(doc, path, cloneJson(member(op, 'value')));
    case 'move': {
      const from = member(op, 'from', 'string');
      if (from === path) {
        getValue(doc, from); // must exist; otherwise a no-op
        return doc;
      }
      if (path.startsWith(from + '/')) {
        throw new JsonPatchError(`cannot move "${from}" into its own child "${path}"`);
      }
      const { doc: rest, removed } = opRemove(doc, from);
      return opAdd(rest, path, removed);
    }
    case 'copy': {
      const from = member(op, 'from', 'string');
      return opAdd(doc, path, cloneJson(getValue(doc, from)));
    }
    case 'test': {
      const expected = member(op, 'value');
      if (!jsonEqual(getValue(doc, path), expected)) {
        throw new JsonPatchError(`test failed: "${path}" is not ${JSON.stringify(expected)}`);
      }
      return doc;
    }
    default:
      throw new JsonPatchError(`unknown op "${kind}"`);
  }
}

/**
 * Applies an RFC 6902 patch and returns the new document. All or nothing: on
 * any error a JsonPatchError is thrown and `doc` is not modified.
 */
export function applyJsonPatch(doc, patch) {
  if (!Array.isArray(patch)) throw new JsonPatchError('a JSON Patch must be an array');
  let result = cloneJson(doc);
  patch.forEach((op, index) => {
    try {
      result = applyOperation(result, op);
    } catch (error) {
      if (error instanceof JsonPatchError && error.index === undefined) {
        throw new JsonPatchError(error.message, index);
      }
      throw error;
    }
  });
  return result;
}

// ---------------------------------------------------------------------------
// RFC 7386 JSON Merge Patch

/** Applies an RFC 7386 merge patch and returns the new document (`target` is not modified). */
export function applyMergePatch(target, patch) {
  if (!isObject(patch)) return cloneJson(patch);
  const result = isObject(target) ? cloneJson(target) : {};
  for (const key of Object.keys(patch)) {
    if (patch[key] === null) {
      delete result[key];
    } else {
      setMember(result, key, applyMergePatch(hasOwn(result, key) ? result[key] : undefined, patch[key]));
    }
  }
  return result;
}

// ---------------------------------------------------------------------------
// diff: items (a keyed array, one event per element)

// Identity of an element's key: the key value as JSON text ("1" and 1 differ).
const keyId = (key) => JSON.stringify(key);

/**
 * Applies a created / updated / deleted event to an array and returns the new
 * array. Elements are matched by `data.key` against the element's member
 * `keyPointer` (an RFC 6901 pointer, "/id" by default). Items mode reports
 * membership and content: an element that only moved sends nothing, so the
 * order of the local copy can differ from the upstream's.
 */
export function applyItemEvent(array, type, data, keyPointer = '/id') {
  if (!Array.isArray(array)) throw new JsonPatchError(`${type}: the document is not an array`);
  if (!isObject(data) || !hasOwn(data, 'key')) throw new JsonPatchError(`${type}: no "key"`);
  const id = keyId(data.key);
  const keyOf = (element) => {
    try {
      return keyId(getValue(element, keyPointer));
    } catch {
      return undefined;
    }
  };
  const result = array.filter((element) => keyOf(element) !== id);
  if (type === 'deleted') return result;
  if (!hasOwn(data, 'value')) throw new JsonPatchError(`${type}: no "value"`);
  const index = Number.isInteger(data.index) ? Math.min(Math.max(data.index, 0), result.length) : result.length;
  result.splice(index, 0, cloneJson(data.value));
  return result;
}

// ---------------------------------------------------------------------------
// The client

const ITEM_EVENTS = ['created', 'updated', 'deleted'];
const DOCUMENT_EVENTS = ['snapshot', 'patch', 'merge-patch', ...ITEM_EVENTS];

// Delay before re-opening a connection the browser gave up on: doubles from
// the first to the last value, with up to 50% random jitter so that many tabs
// do not come back at once.
const REOPEN_FIRST_MS = 1000;
const REOPEN_MAX_MS = 30000;

/** Connection states reported by PollbridgeClient. */
export const Connection = Object.freeze({
  CONNECTING: 'connecting',
  OPEN: 'open',
  RECONNECTING: 'reconnecting',
  CLOSED: 'closed',
});

/**
 * One SSE connection to pollbridge and the documents it keeps.
 *
 * options:
 *   streams      names of the streams on a multiplexed connection, or
 *                undefined for /events/{stream} (one document, key "")
 *   textStreams  names (or "" for a single stream) whose snapshots are raw
 *                text (`diff: text`), not JSON
 *   itemKey      pointer of the key member for items events (default "/id")
 *   onChange(document, info)   a document changed; info = {stream, type, id}
 *   onStatus(status, info)     a status event ({state, reason, since})
 *   onEvent(event)             every event: {stream, type, id, data, raw}
 *   onConnection(state)        one of Connection
 *   onError(error)             an event could not be applied (the client resyncs)
 *   EventSource  the EventSource class (default: the browser's)
 */
export class PollbridgeClient {
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    this.multiplexed = Array.isArray(options.streams);
    this.textStreams = new Set(options.textStreams || []);
    this.itemKey = options.itemKey || '/id';
    this.documents = new Map(); // stream ("" for a single stream) -> document
    this.status = new Map(); // stream -> last status data
    this.lastEventId = '';
    this.eventCount = 0;
    this.connection = Connection.CLOSED;
    this._source = null;
    this._reopenTimer = null;
    this._reopenDelay = REOPEN_FIRST_MS;
    this._stopped = false;
    this._open('');
  }

  /** The document of a stream (of the only stream when not multiplexed). */
  document(stream = '') {
    return this.documents.get(stream);
  }

  /** True while the stream's upstream is failing (per its last status event). */
  isStale(stream = '') {
    const status = this.status.get(stream);
    return Boolean(status && status.state === 'stale');
  }

  /** Closes the connection for good. */
  close() {
    this._stopped = true;
    clearTimeout(this._reopenTimer);
    if (this._source) this._source.close();
    this._source = null;
    this._setConnection(Connection.CLOSED);
  }

  _open(resumeId) {
    if (this._stopped) return;
    const EventSourceClass = this.options.EventSource || globalThis.EventSource;
    let url = this.url;
    if (resumeId) {
      url += (url.includes('?') ? '&' : '?') + 'lastEventId=' + encodeURIComponent(resumeId);
    }
    const source = new EventSourceClass(url);
    this._source = source;
    this._setConnection(this.eventCount === 0 ? Connection.CONNECTING : Connection.RECONNECTING);
    source.onopen = () => {
      if (source !== this._source) return;
      this._reopenDelay = REOPEN_FIRST_MS;
      this._setConnection(Connection.OPEN);
    };
    source.onerror = () => {
      if (source !== this._source) return;
      if (source.readyState === 2 /* CLOSED: the browser will not retry */) {
        this._scheduleReopen();
      } else {
        this._setConnection(Connection.RECONNECTING);
      }
    };
    for (const type of [...DOCUMENT_EVENTS, 'status']) {
      source.addEventListener(type, (event) => {
        if (source === this._source) this._handle(type, event);
      });
    }
  }

  _scheduleReopen(resumeId = this.lastEventId) {
    if (this._source) this._source.close();
    this._source = null;
    this._setConnection(Connection.RECONNECTING);
    clearTimeout(this._reopenTimer);
    const delay = this._reopenDelay * (1 + Math.random() / 2);
    this._reopenDelay = Math.min(this._reopenDelay * 2, REOPEN_MAX_MS);
    this._reopenTimer = setTimeout(() => this._open(resumeId), delay);
  }

  _setConnection(state) {
    if (this.connection === state) return;
    this.connection = state;
    if (this.options.onConnection) this.options.onConnection(state);
  }

  _handle(type, event) {
    const id = event.lastEventId;
    let stream = '';
    let payload;
    let raw = event.data;
    try {
      if (this.multiplexed) {
        const wrapper = JSON.parse(event.data);
        if (!isObject(wrapper) || typeof wrapper.stream !== 'string' || !hasOwn(wrapper, 'data')) {
          throw new JsonPatchError('a multiplexed event needs {"stream":..,"data":..}');
        }
        stream = wrapper.stream;
        payload = wrapper.data;
        raw = JSON.stringify(payload);
      } else if (type === 'snapshot' && this.textStreams.has('')) {
        payload = event.data;
      } else {
        payload = JSON.parse(event.data);
      }
      if (type === 'status') {
        this.status.set(stream, payload);
      } else {
        this.documents.set(stream, this._apply(stream, type, payload));
      }
    } catch (error) {
      this._resync(error, type, id);
      return;
    }
    this.lastEventId = id;
    this.eventCount++;
    const info = { stream, type, id };
    if (this.options.onEvent) this.options.onEvent({ ...info, data: payload, raw });
    if (type === 'status') {
      if (this.options.onStatus) this.options.onStatus(payload, info);
    } else if (this.options.onChange) {
      this.options.onChange(this.documents.get(stream), info);
    }
  }

  _apply(stream, type, payload) {
    if (type === 'snapshot') return payload;
    if (!this.documents.has(stream)) {
      throw new JsonPatchError(`${type} for stream "${stream}" before its snapshot`);
    }
    const current = this.documents.get(stream);
    if (type === 'patch') return applyJsonPatch(current, payload);
    if (type === 'merge-patch') return applyMergePatch(current, payload);
    return applyItemEvent(current, type, payload, this.itemKey);
  }

  // The local copy no longer matches the server's: forget it and start over
  // from a fresh snapshot (a connection without an id).
  _resync(error, type, id) {
    if (this.options.onError) this.options.onError(error, { type, id });
    this.documents.clear();
    this.lastEventId = '';
    this._reopenDelay = REOPEN_FIRST_MS;
    this._scheduleReopen('');
  }
}
