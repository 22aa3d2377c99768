// Type declarations of pollbridge.js (the browser client of pollbridge).
// docs/client.md describes the behaviour behind each member.

/** The client's version; equals the pollbridge release that serves it. */
export const VERSION: string;

/** A JSON value as pollbridge delivers it (a `diff: text` stream's document is a string). */
export type Json = null | boolean | number | string | Json[] | { [member: string]: Json };

/** Event types that change a document. */
export type ChangeType = 'snapshot' | 'patch' | 'merge-patch' | 'created' | 'updated' | 'deleted';

/** What `onChange` receives beside the new document. */
export interface Change {
  /** The stream's address (`orders`, `customer/3`). */
  stream: string;
  /** The event's type; a copy received from the leader tab is a `snapshot`. */
  type: ChangeType;
  /** The stream's id after this change (`<epoch>-<seq>`; opaque). */
  id: string;
  /** The event's payload: the document, the patch, or the items event. */
  data: Json;
}

/** The data of a stream's `status` event (docs/protocol.md). */
export interface StreamStatus {
  state: 'ok' | 'stale';
  reason?: string;
  http_status?: number;
  since?: string;
  last_success?: string;
  at?: string;
}

/**
 * - `live`: connected, and no watched stream's upstream is failing;
 * - `stale`: connected, but the upstream of a stream is failing (`reason`
 *   says which and why); documents are the last good ones;
 * - `reconnecting`: not receiving (connecting, connection lost, server
 *   refusing a stream); the client retries by itself;
 * - `unauthorized`: the server answers 401 or 403 even with a fresh token;
 *   the client keeps retrying, asking the token function each time.
 */
export interface Status {
  state: 'live' | 'stale' | 'reconnecting' | 'unauthorized';
  reason?: string;
  /** The transport in use (onStatus is called when it changes). */
  transport: Transport;
  /** Each watched stream's last status event (null before one). */
  streams: Record<string, StreamStatus | null>;
}

/** A transport a connection uses. */
export type Transport = 'eventsource' | 'fetch' | 'long-poll';

export interface WatchOptions {
  /** A document changed (documents are shared: treat them as read-only). */
  onChange?(doc: Json, change: Change): void;
  /** The status changed. */
  onStatus?(status: Status): void;
  /** An event could not be applied (the stream is resynchronised). */
  onError?(error: Error): void;
  /**
   * Access token, or a function giving one; called again after a 401, and
   * when a connection ends after the JWT it gave has expired (the client
   * then reconnects at once, from its place).
   */
  token?: string | (() => string | Promise<string>);
  /** Query parameter carrying the token with EventSource, and with long-poll after a fallback from it (default `access_token`). */
  tokenParam?: string;
  /**
   * `auto` (default): the browser's EventSource (the token in the query),
   * falling back to long-poll when the stream looks buffered.
   * `fetch`: a fetch-based reader, the token as `Authorization: Bearer`,
   * falling back to long-poll (token in the header) the same way.
   * `eventsource`: EventSource only, never long-poll.
   * `long-poll`: long-poll only (the token as `Authorization: Bearer`).
   */
  transport?: 'auto' | Transport;
  /**
   * `auto` and `fetch`: a streaming connection on which nothing arrives
   * within this many ms is taken as buffered by something on the way, and
   * the client goes on with long-poll (default 5000; 0: never).
   */
  bufferTimeout?: number;
  /** After a fallback to long-poll, streaming is tried again after this many ms (default 300000). */
  streamRetryAfter?: number;
  /**
   * The representation pollbridge sends changes in (`?format=`); default:
   * the stream's own. Documents are the same whatever the format.
   */
  format?: 'snapshot' | 'json-patch' | 'merge-patch';
  /**
   * Share one connection with the other tabs of the origin (default true);
   * false for a connection of this page's own; a string names a separate
   * sharing group.
   */
  shared?: boolean | string;
  /** The element key of `diff: items` streams: a member name or a pointer (default `id`). */
  key?: string;
  /** fetch transport: reconnect when nothing (not even a heartbeat) came for this many ms (default 0: never). */
  idleTimeout?: number;
  /** Replacements for the environment's, for tests and unusual hosts. */
  EventSource?: { new (url: string): EventSource };
  fetch?: typeof fetch;
  locks?: LockManager;
  BroadcastChannel?: { new (name: string): BroadcastChannel };
}

export interface Watch {
  /** The watched streams, in the URL's order. */
  readonly streams: string[];
  /** The document of the first (or only) stream; undefined before its first snapshot. */
  readonly document: Json | undefined;
  /** The documents received so far, by stream. */
  readonly documents: Record<string, Json>;
  /** The last status (also given to onStatus). */
  readonly status: Status;
  /** Each stream's last id, joined by "," in the order of `streams`. */
  readonly lastEventId: string;
  /** Whether this tab holds the connection. */
  readonly leader: boolean;
  /** Stops watching; the connection closes when no watch of the group is left. */
  close(): void;
}

/** Watches `/events/{stream}` or `/events?stream=a&stream=b` (relative to the page or absolute). */
export function watch(url: string | URL, options?: WatchOptions): Watch;

/** Thrown by the appliers when a patch or event does not apply; the input is unchanged. */
export class PatchError extends Error {}

/** RFC 6902: returns the patched copy. */
export function applyPatch(doc: Json, patch: Json[]): Json;
/** RFC 7386: returns the merged copy. */
export function applyMergePatch(target: Json | undefined, patch: Json): Json;
/** A `created` / `updated` / `deleted` event applied to a copy of `array`; `key` as in WatchOptions. */
export function applyItemEvent(array: Json[], type: 'created' | 'updated' | 'deleted', data: Json, key?: string): Json[];
/** RFC 6901: the unescaped reference tokens of a pointer. */
export function parsePointer(pointer: string): string[];
/** A `key` option as an RFC 6901 pointer. */
export function keyPointer(key?: string): string;
/** A deep copy of a JSON value. */
export function clone<T extends Json>(value: T): T;
/** JSON equality (member order does not count). */
export function equal(a: Json, b: Json): boolean;
/**
 * The WHATWG event-stream parser used by the fetch transport: feed it text;
 * it calls `emit(type, data, lastEventId)` per event.
 */
export function eventStreamParser(emit: (type: string, data: string, lastEventId: string) => void): {
  (text: string): void;
  /** The last `retry` value (ms), 0 before one. */
  retry: number;
  /** The last event ID. */
  id: string;
};

declare const pollbridge: {
  VERSION: typeof VERSION;
  watch: typeof watch;
  applyPatch: typeof applyPatch;
  applyMergePatch: typeof applyMergePatch;
  applyItemEvent: typeof applyItemEvent;
};
export default pollbridge;
