// Test harness shared by the JavaScript end-to-end tests: a fake legacy
// backend that the test controls exactly, the real pollbridge binary started
// on a free port with a generated config, and small waiting helpers.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The shipped client module (clients/js/pollbridge.js) as a file URL. */
export const clientModuleUrl = pathToFileURL(path.join(repoRoot, 'clients', 'js', 'pollbridge.js')).href;
/** The admin token the harness configures (server.admin_token) for forced polls. */
export const ADMIN_TOKEN = 'js-test-admin';

// How long a test waits for something that should happen within a few poll
// intervals before it fails.
export const WAIT_MS = 10000;

// Debian's Chromium, headless, for the tests that drive a real browser.
// These machines reach no network: keep Chromium from trying.
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The pollbridge binary: $PB_BINARY (relative paths are relative to the repo root) or build/pollbridge. */
export function pollbridgeBinary() {
  const binary = path.resolve(repoRoot, process.env.PB_BINARY || 'build/pollbridge');
  if (!existsSync(binary)) {
    throw new Error(`pollbridge binary not found at ${binary}: build it (cmake --build build) or set PB_BINARY`);
  }
  return binary;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A sleep that does not keep the process alive: for deadlines raced against
// what a test waits for, which would otherwise hold Node open after the test.
const deadline = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Polls `check` until it returns a truthy value, which is returned; fails after `timeout` ms. */
export async function waitFor(check, { timeout = WAIT_MS, interval = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (lastError ? `: ${lastError.message}` : ''));
    }
    await sleep(interval);
  }
}

/**
 * A legacy JSON backend whose answers the test sets exactly. Each path serves
 * a raw body (a string, so that number spellings reach pollbridge as
 * written), or fails with a status code while `fail()` is in force. With
 * `etag: true` it sends an ETag and answers If-None-Match with 304 the way
 * Node's http module does (no Content-Length: a 304 never has content).
 */
export class FakeUpstream {
  constructor({ etag = false } = {}) {
    this.etag = etag;
    this.routes = new Map(); // path -> {body, contentType, failStatus}
    this.requests = 0;
    this.notModified = 0;
    this.server = createServer((req, res) => this._serve(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  url(pathname) {
    return `http://127.0.0.1:${this.port}${pathname}`;
  }

  /** Serves `body` (a string, or a value that is JSON-encoded) at `pathname` from now on. */
  set(pathname, body, contentType = 'application/json') {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const route = this.routes.get(pathname) || {};
    this.routes.set(pathname, { ...route, body: text, contentType });
  }

  /** Answers `pathname` with HTTP `status` until recover(). */
  fail(pathname, status = 503) {
    this.routes.get(pathname).failStatus = status;
  }

  recover(pathname) {
    delete this.routes.get(pathname).failStatus;
  }

  _serve(req, res) {
    this.requests++;
    const { pathname } = new URL(req.url, 'http://upstream');
    const route = this.routes.get(pathname);
    if (!route || route.body === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such path\n');
      return;
    }
    if (route.failStatus) {
      res.writeHead(route.failStatus, { 'Content-Type': 'text/plain' }).end('the legacy backend is down\n');
      return;
    }
    const headers = { 'Content-Type': route.contentType, 'Cache-Control': 'no-cache' };
    if (this.etag) {
      headers.ETag = '"' + createHash('sha1').update(route.body).digest('hex').slice(0, 16) + '"';
      if (req.headers['if-none-match'] === headers.ETag) {
        this.notModified++;
        res.writeHead(304, { ETag: headers.ETag }).end();
        return;
      }
    }
    res.writeHead(200, headers).end(route.body);
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// YAML for one stream entry; strings are written as JSON strings, which YAML
// reads as double-quoted scalars.
function streamYaml(stream) {
  const lines = [`  - name: ${JSON.stringify(stream.name)}`];
  for (const [key, value] of Object.entries(stream)) {
    if (key === 'name') continue;
    lines.push(`    ${key}: ${JSON.stringify(value)}`);
  }
  return lines.join('\n');
}

/**
 * The real pollbridge, started with a generated config on 127.0.0.1:0 (or
 * `listen`) and --memory. `streams` are config entries ({name, url, diff,
 * interval, ...}); `server` adds server keys; `auth` is the auth section.
 */
export class Pollbridge {
  constructor({ streams, server = {}, history = 1000, persist = false, auth = null }) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'pollbridge-js-'));
    this.configFile = path.join(this.dir, 'pollbridge.yaml');
    // persist: state in this.dir/state, so ids survive a restart.
    this.persist = persist;
    const stateDir = persist ? path.join(this.dir, 'state') : '';
    const serverYaml = Object.entries({ heartbeat: '15s', retry: '500ms', admin_token: ADMIN_TOKEN, ...server })
      .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`)
      .join('\n');
    writeFileSync(
      this.configFile,
      `server:\n${serverYaml}\nhistory: ${history}\nstate:\n  dir: ${JSON.stringify(stateDir)}\n` +
        // JSON is YAML: the auth section as given.
        (auth ? `auth: ${JSON.stringify(auth)}\n` : '') +
        'streams:\n' +
        streams.map(streamYaml).join('\n') +
        '\n',
    );
    this.output = '';
  }

  /** Starts the process and resolves once it prints its address. */
  async start(listen = '127.0.0.1:0') {
    this.output = '';
    const args = ['--config', this.configFile, '--listen', listen];
    if (!this.persist) args.push('--memory');
    const child = spawn(pollbridgeBinary(), args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited = exited;
    const listening = new Promise((resolve, reject) => {
      const onData = (chunk) => {
        this.output += chunk;
        const match = /listening on (\S+):(\d+)/.exec(this.output);
        if (match) resolve(Number(match[2]));
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', (chunk) => {
        this.output += chunk;
      });
      exited.then(({ code, signal }) =>
        reject(new Error(`pollbridge exited (${code ?? signal}) before listening:\n${this.output}`)),
      );
    });
    const timeout = deadline(WAIT_MS).then(() => {
      throw new Error(`pollbridge did not start within ${WAIT_MS} ms:\n${this.output}`);
    });
    this.port = await Promise.race([listening, timeout]);
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    return this;
  }

  /** Stops the process with `signal` and waits for it to exit. */
  async stop(signal = 'SIGTERM') {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const result = await Promise.race([this.exited, deadline(WAIT_MS).then(() => null)]);
    if (result === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Stops the process and removes its config. */
  async dispose() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The entry of GET /streams for a stream. */
  async streamInfo(name) {
    const res = await fetch(`${this.baseUrl}/streams`);
    const body = await res.json();
    return body.streams.find((s) => s.name === name);
  }

  /**
   * Polls stream `name` now and waits until that poll's events are
   * published (POST /streams/{name}/poll?wait=true); returns its last id.
   */
  async poll(name) {
    const res = await fetch(`${this.baseUrl}/streams/${name}/poll?wait=true`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`poll of ${name}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body.last_id;
  }

  /** A global metric of GET /metrics (a number), e.g. pollbridge_clients. */
  async metric(name) {
    const text = await (await fetch(`${this.baseUrl}/metrics`)).text();
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`no metric ${name} in /metrics`);
    return Number(match[1]);
  }

  /** Waits until pollbridge has published more than `events` events on a stream; returns its info. */
  async waitForEvents(name, events) {
    return waitFor(
      async () => {
        const info = await this.streamInfo(name);
        return info && info.events > events ? info : null;
      },
      { what: `stream ${name} to pass ${events} events` },
    );
  }
}

/**
 * A test CA and a server certificate it signed for localhost and 127.0.0.1,
 * made with the openssl command line in a fresh folder. Returns the paths
 * {dir, ca, cert, key} and a `dispose()` that removes the folder.
 */
export function makeTestCertificates() {
  const dir = mkdtempSync(path.join(tmpdir(), 'pollbridge-certs-'));
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (file) => run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
  key('ca.key');
  key('server.key');
  run('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pollbridge-js-test-ca');
  run('req', '-new', '-key', 'server.key', '-subj', '/CN=localhost', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem');
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
