// pollbridge's operator console (docs/console.md). The page holds no data:
// everything comes from the admin endpoints with the admin token as a
// bearer token. The overview is pollbridge's own event stream of its state,
// GET /admin/events (a snapshot, then RFC 6902 patches), read with fetch
// (EventSource cannot send the token) through the product's own browser
// client code (/admin/pollbridge.js: its SSE parser and patch applier); the
// open detail is read from GET /admin/streams/{id} once a second.
//
// Markup contract (tests and users' scripts rely on it):
//   [data-stream=ID][data-state=pending|ok|stale]  one row per instance
//   [data-action=poll]                             its "poll now" button
//   [data-document]                                the detail's document (JSON text)
//   [data-events="id id …"]                        the detail's last events
//   #connection[data-auth=none|ok|unauthorized]    whether the token was accepted

import { applyPatch, eventStreamParser } from './pollbridge.js';

const TOKEN_KEY = 'pollbridge-admin-token';
const REFRESH_MS = 1000;
const CHART_WINDOW_MS = 5 * 60 * 1000;
// Members shown per level before a "show more" button (large documents).
const TREE_PAGE = 200;

const $ = (id) => document.getElementById(id);
let token = null;
let timer = null;
let detailId = null;
const previous = new Map(); // id -> {events, at, state}

function takeToken() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    // The token leaves the address bar (and the history).
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function setAuth(state, text) {
  const c = $('connection');
  c.dataset.auth = state;
  c.textContent = text;
  $('unauthorized').hidden = state !== 'unauthorized';
  // Connected: only "Forget token" stays.
  $('token-form').dataset.connected = String(state === 'ok');
  $('overview').hidden = state === 'unauthorized';
  if (state === 'unauthorized') {
    $('rows').replaceChildren();
    previous.clear();
    closeDetail();
  }
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    cache: 'no-store',
    headers: { Authorization: `Bearer ${token}` },
  });
  if (res.status === 401 || res.status === 403) {
    const err = new Error('unauthorized');
    err.unauthorized = true;
    throw err;
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.status === 204 ? null : res.json();
}

function ago(ms, now) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

const SVG = 'http://www.w3.org/2000/svg';

function chart(durations, now) {
  const w = 120;
  const h = 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', w);
  svg.setAttribute('height', h);
  svg.setAttribute('class', 'chart');
  const recent = durations.filter(([end]) => now - end <= CHART_WINDOW_MS);
  // The last five minutes, or less while there is less history.
  const span = Math.min(CHART_WINDOW_MS, Math.max(30000, recent.length ? now - recent[0][0] : 0));
  const max = Math.max(1, ...recent.map(([, us]) => us));
  const points = recent.map(([end, us]) => {
    const x = w - ((now - end) / span) * w;
    const y = h - 2 - (us / max) * (h - 4);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(line);
  const last = recent.length ? recent[recent.length - 1][1] : null;
  const label = last === null ? 'no polls in the last 5 minutes' : `last poll took ${(last / 1000).toFixed(1)} ms, highest ${(max / 1000).toFixed(1)} ms over the last ${Math.round(span / 1000)} s`;
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const title = document.createElementNS(SVG, 'title');
  title.textContent = label;
  svg.append(title);
  return svg;
}

function cell(text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  return td;
}

function stateBadge(s) {
  const span = document.createElement('span');
  span.className = `badge ${s.state}`;
  span.textContent = s.state;
  const wrap = document.createElement('span');
  wrap.append(span);
  if (s.reason) {
    const reason = document.createElement('span');
    reason.className = 'reason';
    reason.textContent = s.reason;
    wrap.append(' ', reason);
  }
  return wrap;
}

function row(s, now) {
  const tr = document.createElement('tr');
  tr.dataset.stream = s.id;
  tr.dataset.state = s.state;
  tr.dataset.kind = s.kind;
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'link';
  open.textContent = s.id;
  open.setAttribute('aria-label', `Show the detail of ${s.id}`);
  open.addEventListener('click', () => openDetail(s.id));
  const name = cell(open, 'name');
  if (s.kind !== 'plain') {
    const kind = document.createElement('span');
    kind.className = 'muted kind';
    kind.textContent = s.kind === 'per-user' ? ' per-user instance' : ' instance';
    name.append(kind);
  }
  const prev = previous.get(s.id);
  let rate = '—';
  if (prev && now > prev.at) rate = (((s.events - prev.events) * 1000) / (now - prev.at)).toFixed(1);
  const poll = document.createElement('button');
  poll.type = 'button';
  poll.dataset.action = 'poll';
  poll.textContent = 'Poll now';
  poll.setAttribute('aria-label', `Poll ${s.id} now`);
  poll.addEventListener('click', () => pollNow(s.id, poll));
  tr.append(
    name,
    cell(stateBadge(s), 'state'),
    cell(ago(s.last_success_ms, now)),
    cell(ago(s.changed_ms, now)),
    cell(String(s.clients), 'num'),
    cell(rate, 'num'),
    cell(chart(s.durations, now)),
    cell(poll),
  );
  return tr;
}

function groupRow(name, count) {
  const tr = document.createElement('tr');
  tr.className = 'group';
  tr.dataset.group = name;
  const th = document.createElement('th');
  th.scope = 'rowgroup';
  th.colSpan = 8;
  th.textContent = `${name} (${count} instance${count === 1 ? '' : 's'})`;
  tr.append(th);
  return tr;
}

function render(state) {
  const now = state.now_ms;
  const rows = [];
  const changes = [];
  const groups = new Map();
  for (const s of state.streams) {
    if (s.kind !== 'plain') groups.set(s.stream, (groups.get(s.stream) || 0) + 1);
  }
  let group = null;
  for (const s of state.streams) {
    if (s.kind !== 'plain' && s.stream !== group) rows.push(groupRow(s.stream, groups.get(s.stream)));
    group = s.kind !== 'plain' ? s.stream : null;
    rows.push(row(s, now));
    const prev = previous.get(s.id);
    if (prev && prev.state !== s.state) changes.push(`${s.id} is ${s.state}${s.reason ? `: ${s.reason}` : ''}`);
    previous.set(s.id, { events: s.events, at: now, state: s.state });
  }
  // Parameterized and per-user streams with no live instance: their group
  // row alone, so that every configured stream is listed.
  for (const idle of state.idle || []) rows.push(groupRow(idle.stream, 0));
  // Keyboard focus survives the refresh: it returns to the same control.
  const focused = document.activeElement;
  const focusRow = focused && focused.closest && focused.closest('tr[data-stream]');
  const focusKey = focusRow ? [focusRow.dataset.stream, focused.dataset.action || 'open'] : null;
  $('rows').replaceChildren(...rows);
  if (focusKey) {
    const again = [...$('rows').querySelectorAll('tr[data-stream]')].find((r) => r.dataset.stream === focusKey[0]);
    const target = again && (focusKey[1] === 'poll' ? again.querySelector('[data-action="poll"]') : again.querySelector('button.link'));
    if (target) target.focus();
  }
  $('empty').hidden = state.streams.length > 0;
  if (changes.length) $('changes').textContent = changes.join('. ');
}

let overview = null;
let feed = null; // the AbortController of the open /admin/events request

function unauthorized() {
  setAuth('unauthorized', 'Unauthorized');
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  stopFeed();
}

function stopFeed() {
  if (feed) feed.abort();
  feed = null;
  clearTimeout(timer);
}

// One connection to GET /admin/events; reconnects a second after it ends.
async function connect() {
  stopFeed();
  if (!token) return;
  const controller = new AbortController();
  feed = controller;
  try {
    const res = await fetch('/admin/events', {
      cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (res.status === 401 || res.status === 403) {
      unauthorized();
      return;
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const parse = eventStreamParser((type, data) => {
      if (type === 'snapshot') overview = JSON.parse(data);
      else if (type === 'patch' && overview) overview = applyPatch(overview, JSON.parse(data));
      else return;
      setAuth('ok', `Live · ${new Date(overview.now_ms).toLocaleTimeString()}`);
      render(overview);
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parse(value);
    }
    throw new Error('the stream ended');
  } catch (err) {
    if (controller.signal.aborted) return;
    $('connection').textContent = `Cannot reach pollbridge (${err.message}); retrying`;
  }
  if (feed === controller) timer = setTimeout(connect, REFRESH_MS);
}

// The open detail, once a second.
let detailTimer = null;
async function detailLoop() {
  clearTimeout(detailTimer);
  if (!detailId || !token) return;
  try {
    await refreshDetail();
  } catch (err) {
    if (err.unauthorized) {
      unauthorized();
      return;
    }
  }
  detailTimer = setTimeout(detailLoop, REFRESH_MS);
}

async function pollNow(id, button) {
  button.disabled = true;
  try {
    await api(`/admin/streams/${encodeURIComponent(id)}/poll`, { method: 'POST' });
    $('changes').textContent = `Poll of ${id} requested`;
  } catch (err) {
    $('changes').textContent = `Poll of ${id} failed: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

// --- the detail -----------------------------------------------------------

function fact(dl, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dl.append(dt, dd);
}

// A collapsible tree of `value`; children are built when opened, TREE_PAGE
// at a time, so a large document costs only what is shown.
function tree(key, value, open) {
  if (value === null || typeof value !== 'object') {
    const div = document.createElement('div');
    div.className = 'leaf';
    const k = document.createElement('span');
    k.className = 'key';
    k.textContent = key === null ? '' : `${key}: `;
    const v = document.createElement('span');
    v.className = `value ${value === null ? 'null' : typeof value}`;
    v.textContent = JSON.stringify(value);
    div.append(k, v);
    return div;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = `${key === null ? '' : `${key}: `}${Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}`;
  details.append(summary);
  let shown = 0;
  const more = () => {
    const page = entries.slice(shown, shown + TREE_PAGE);
    shown += page.length;
    const nodes = page.map(([k, v]) => tree(k, v, false));
    details.append(...nodes);
    if (shown < entries.length) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = `Show ${Math.min(TREE_PAGE, entries.length - shown)} more of ${entries.length - shown}`;
      button.addEventListener('click', () => {
        button.remove();
        more();
      });
      details.append(button);
    }
  };
  details.addEventListener('toggle', () => {
    if (details.open && shown === 0) more();
  });
  details.open = open;
  return details;
}

let shownDocumentId = null;

function renderDetail(d) {
  $('detail-title').textContent = d.id;
  const facts = $('detail-facts');
  facts.replaceChildren();
  fact(facts, 'State', d.state + (d.reason ? ` — ${d.reason}` : ''));
  const up = d.upstream;
  fact(facts, 'Upstream answered', up ? (up.status ? `HTTP ${up.status}` : 'no response') + ` · ${ago(up.at_ms, Date.now())}` : '—');
  fact(facts, 'Upstream headers', up ? Object.entries(up.headers).map(([k, v]) => `${k}: ${v}`).join('\n') || '—' : '—');
  if (up && up.error) fact(facts, 'Upstream error', up.error);
  fact(facts, 'Last poll', ago(d.last_success_ms, Date.now()));
  fact(facts, 'Last change', ago(d.changed_ms, Date.now()));
  fact(facts, 'Last event id', d.last_id || '—');
  fact(facts, 'History', `${d.history} events`);
  fact(facts, 'Clients', String(d.clients));
  fact(facts, 'Polls / failures', `${d.polls} / ${d.failures}`);
  $('config').textContent = JSON.stringify(d.config, null, 2);

  if (d.document_id !== shownDocumentId) {
    shownDocumentId = d.document_id;
    const raw = $('doc-raw');
    const treeBox = $('doc-tree');
    if (d.document === undefined) {
      raw.textContent = '';
      treeBox.replaceChildren();
      $('doc-note').textContent = d.document_bytes
        ? `The document (${d.document_bytes} bytes) is too large to show here.`
        : 'No document yet.';
    } else {
      $('doc-note').textContent = `${d.document_bytes} bytes, event ${d.document_id}`;
      let value;
      try {
        value = JSON.parse(d.document);
        raw.textContent = JSON.stringify(value, null, 2);
      } catch {
        value = d.document;
        raw.textContent = d.document;
      }
      treeBox.replaceChildren(tree(null, value, true));
    }
  }

  const list = $('events');
  const ids = d.recent_events.map((e) => e.id);
  if (list.dataset.events !== ids.join(' ')) {
    list.dataset.events = ids.join(' ');
    list.replaceChildren(
      ...d.recent_events
        .slice()
        .reverse()
        .map((e) => {
          const li = document.createElement('li');
          li.dataset.id = e.id;
          const head = document.createElement('span');
          head.className = 'event-head';
          head.textContent = `${e.id} · ${e.type} · ${e.bytes} bytes`;
          const body = document.createElement('code');
          body.textContent = e.data;
          li.append(head, body);
          return li;
        }),
    );
  }
}

async function refreshDetail() {
  if (!detailId) return;
  try {
    renderDetail(await api(`/admin/streams/${encodeURIComponent(detailId)}`));
  } catch (err) {
    if (err.unauthorized) throw err;
    $('doc-note').textContent = `This instance is gone (${err.message}).`;
  }
}

function openDetail(id) {
  detailId = id;
  shownDocumentId = null;
  $('events').dataset.events = '';
  $('events').replaceChildren();
  $('detail').hidden = false;
  detailLoop().then(() => $('close-detail').focus());
}

function closeDetail() {
  detailId = null;
  clearTimeout(detailTimer);
  $('detail').hidden = true;
}

function start() {
  token = takeToken();
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token').value;
    $('token').value = '';
    sessionStorage.setItem(TOKEN_KEY, token);
    setAuth('none', 'Connecting…');
    connect();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    stopFeed();
    $('rows').replaceChildren();
    closeDetail();
    setAuth('none', 'Not connected');
  });
  $('close-detail').addEventListener('click', closeDetail);
  if (token) {
    setAuth('none', 'Connecting…');
    connect();
  } else {
    setAuth('none', 'Give the admin token to connect');
  }
}

start();
