// The example page: shows the live orders document that pollbridge keeps up
// to date, the connection, staleness, and the events as they arrive. It uses
// the client pollbridge serves itself (clients/js/pollbridge.js, docs/client.md).
//
// Views (index.html):
//   ?stream=orders        (default) RFC 6902 patches, orders matched by id
//   ?stream=orders-items  one created / updated / deleted event per order
//   ?customer=N           one customer's orders as RFC 7386 merge patches
// mux.html: orders and the plain-text board on one multiplexed connection.
// Options for trying things out: ?shared=0 (this tab's own connection),
// ?transport=fetch (the fetch reader), ?transport=long-poll or
// ?transport=eventsource (default: auto), ?bufferTimeout=ms (how soon a
// buffered stream gives way to long-poll), ?token=... (sent as the token),
// ?api=http://host:port (a pollbridge on another origin; it must list this
// page's origin in server.cors_origins).
//
// Tabs of the same origin share one connection: one of them holds it (the
// header says which), the others get its events.
//
// window.pollbridgeState is kept current for tests and for poking around in
// the console: {view, url, document, documents, lastEventId, stale,
// staleReason, connection, transport, leader, eventCount, counts, errors,
// changes}.
import pollbridge from '/pollbridge.js?v=0.1.0';

const LOG_LENGTH = 40;
const FLASH_MS = 1500;

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const state = {
  view: '',
  url: '',
  document: undefined,
  documents: {},
  lastEventId: '',
  stale: false,
  staleReason: '',
  connection: 'reconnecting',
  transport: '', // eventsource, fetch or long-poll: the one in use
  leader: false,
  eventCount: 0,
  counts: {},
  errors: [],
  changes: [], // {stream, type, id} of the latest changes, oldest first
};
// How many changes window.pollbridgeState.changes keeps.
const CHANGES_KEPT = 2000;
window.pollbridgeState = state;

// --- which connection this page opens --------------------------------------

function chooseView() {
  const params = new URLSearchParams(location.search);
  if (document.body.dataset.view === 'mux') {
    return {
      view: 'mux',
      title: 'orders + board on one connection',
      url: '/events?stream=orders&stream=board',
      streams: ['orders', 'board'],
    };
  }
  const customer = params.get('customer');
  if (customer !== null && /^[0-9]{1,6}$/.test(customer)) {
    return {
      view: `customer/${customer}`,
      title: `customer ${customer} (merge-patch)`,
      url: `/events/customer/${customer}`,
    };
  }
  const stream = params.get('stream') === 'orders-items' ? 'orders-items' : 'orders';
  return {
    view: stream,
    title: stream === 'orders' ? 'orders (json-patch)' : 'orders, one event per order (items)',
    url: `/events/${stream}`,
  };
}

// --- rendering --------------------------------------------------------------

// The orders of a document: {orders: [...]} or, in items mode, the array.
function ordersOf(doc) {
  if (Array.isArray(doc)) return doc;
  if (doc && Array.isArray(doc.orders)) return doc.orders;
  return null;
}

const previousRows = new Map(); // order id -> JSON of the row last shown

function money(value, currency) {
  const n = Number(value);
  return (Number.isFinite(n) ? n.toFixed(2) : String(value)) + (currency ? ` ${currency}` : '');
}

function renderOrders(doc) {
  const body = $('orders-body');
  const orders = ordersOf(doc);
  $('orders-empty').hidden = !(orders && orders.length === 0);
  $('raw').textContent = doc === undefined ? '' : JSON.stringify(doc, null, 2);
  body.replaceChildren();
  if (!orders) return;
  const seen = new Set();
  for (const order of orders) {
    const row = element('tr');
    const json = JSON.stringify(order);
    const id = order && order.id;
    seen.add(id);
    if (previousRows.size > 0 && previousRows.get(id) !== json) {
      row.classList.add('changed');
      setTimeout(() => row.classList.remove('changed'), FLASH_MS);
    }
    previousRows.set(id, json);
    const status = String(order.status ?? '');
    const cells = [
      element('td', 'num', String(order.id ?? '')),
      element('td', 'num', String(order.customer ?? '')),
      element('td'),
      element('td', '', String(order.product ?? '')),
      element('td', 'num', String(order.quantity ?? '')),
      element('td', 'num', money(order.total, order.currency)),
      element('td', 'when', String(order.createdAt ?? '').replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
    ];
    cells[2].append(element('span', `badge status-${status.replace(/[^a-z]/g, '')}`, status));
    row.append(...cells);
    body.append(row);
  }
  for (const id of [...previousRows.keys()]) if (!seen.has(id)) previousRows.delete(id);
}

function renderConnection() {
  const pill = $('connection');
  pill.textContent = state.connection;
  pill.className = `pill ${state.connection}`;
  pill.title = `transport: ${state.transport}`;
  $('last-id').textContent = state.lastEventId || '–';
  $('event-count').textContent = String(state.eventCount);
  $('role').textContent = state.leader ? 'this tab holds the connection' : 'through another tab';
}

function renderStale(streamStatus) {
  const banner = $('stale-banner');
  banner.hidden = !state.stale;
  if (state.stale) {
    const since = streamStatus && streamStatus.since ? ` since ${new Date(streamStatus.since).toLocaleTimeString()}` : '';
    $('stale-text').textContent = `stale: ${state.staleReason}${since}`;
  }
}

// A short line describing an event for the log.
function summary(type, data) {
  if (type === 'patch' && Array.isArray(data)) {
    return data.map((op) => `${op.op} ${op.from ? op.from + ' → ' : ''}${op.path}`).join(', ');
  }
  if (type === 'merge-patch') return `members: ${Object.keys(data || {}).join(', ')}`;
  if (type === 'snapshot') {
    const orders = ordersOf(data);
    return orders ? `${orders.length} orders` : typeof data === 'string' ? `${data.length} characters` : 'document';
  }
  if (type === 'status') return data.reason ? `${data.state}: ${data.reason}` : data.state;
  if (type === 'created' || type === 'updated' || type === 'deleted') return `order ${JSON.stringify(data.key)}`;
  return '';
}

function logEvent(event) {
  const log = $('log');
  const line = element('li', `ev ev-${event.type}`);
  line.append(
    element('span', 'time', new Date().toLocaleTimeString()),
    Object.assign(element('span', 'id', event.id), { title: event.id }),
    element('span', 'type', event.stream ? `${event.stream} ${event.type}` : event.type),
    element('span', 'what', summary(event.type, event.data)),
  );
  log.prepend(line);
  while (log.children.length > LOG_LENGTH) log.lastChild.remove();
}

// --- wiring -----------------------------------------------------------------

function start() {
  const view = chooseView();
  state.view = view.view;
  state.url = view.url;
  $('view-title').textContent = view.title;
  for (const link of document.querySelectorAll('nav a[data-view]')) {
    link.classList.toggle('current', link.dataset.view === view.view);
  }

  const params = new URLSearchParams(location.search);
  const api = /^https?:\/\/[^/]+$/.test(params.get('api') || '') ? params.get('api') : '';
  const watch = pollbridge.watch(api + view.url, {
    shared: params.get('shared') !== '0',
    // Default 'auto': EventSource, or long-poll when something on the way buffers it.
    transport: ['eventsource', 'fetch', 'long-poll'].includes(params.get('transport')) ? params.get('transport') : 'auto',
    token: params.get('token') || undefined,
    // ?bufferTimeout=ms: how soon a buffered stream gives way to long-poll (default 5 s).
    bufferTimeout: /^\d{1,6}$/.test(params.get('bufferTimeout') || '') ? Number(params.get('bufferTimeout')) : undefined,
    onChange(doc, change) {
      state.eventCount++;
      state.lastEventId = watch.lastEventId;
      state.leader = watch.leader;
      state.counts[change.type] = (state.counts[change.type] || 0) + 1;
      state.changes.push({ stream: change.stream, type: change.type, id: change.id });
      if (state.changes.length > CHANGES_KEPT) state.changes.shift();
      state.documents = watch.documents;
      if (view.streams) {
        state.document = state.documents;
        if (change.stream === 'orders') renderOrders(doc);
        if (change.stream === 'board') $('board').textContent = typeof doc === 'string' ? doc : JSON.stringify(doc);
      } else {
        state.document = doc;
        renderOrders(doc);
      }
      logEvent({ stream: view.streams ? change.stream : '', type: change.type, id: change.id, data: change.data });
      renderConnection();
    },
    onStatus(status) {
      state.connection = status.state;
      state.transport = status.transport;
      state.leader = watch.leader;
      state.stale = status.state === 'stale';
      state.staleReason = state.stale ? status.reason : '';
      const first = Object.values(status.streams).find((s) => s && s.state === 'stale');
      renderStale(first);
      logEvent({ stream: '', type: 'status', id: watch.lastEventId, data: status });
      renderConnection();
    },
    onError(error) {
      state.errors.push(error.message);
      logEvent({ type: 'error', id: watch.lastEventId, stream: '', data: error.message });
    },
  });
  window.pollbridgeWatch = watch;
  // Leadership changes hands without an event of its own: keep the header right.
  setInterval(() => {
    if (state.leader !== watch.leader) {
      state.leader = watch.leader;
      renderConnection();
    }
  }, 500);
  renderConnection();
}

start();
