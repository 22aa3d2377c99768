// A reverse proxy that buffers response bodies, as corporate proxies,
// antivirus HTTPS scanners and some API gateways do (issue 21): the status
// line and headers go to the client at once, the body only when `limit`
// bytes (64 KiB) have gathered or the upstream response ends. An SSE stream
// that sends less than that shows nothing behind it; a long-poll answer,
// which ends, passes whole. Connections to the client and to the upstream
// are kept alive (a Node agent with keepAlive), so long-polls reuse them.
//
// Hand-written: no Debian or npm package of the pinned set does this (a
// test needs exactly this buffering, with nothing else in the way).
import { Agent, createServer, request } from 'node:http';

// Headers of one hop that are not forwarded.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

const forwardable = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP.has(k.toLowerCase())));

export class BufferingProxy {
  /** `target`: the upstream's base URL (http://127.0.0.1:port). */
  constructor(target, { limit = 64 * 1024 } = {}) {
    this.target = new URL(target);
    this.limit = limit;
    this.agent = new Agent({ keepAlive: true });
    this.requests = []; // the request URLs, in order
    this.server = createServer((req, res) => this._forward(req, res));
  }

  async start(port = 0) {
    await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections?.();
    this.agent.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  _forward(req, res) {
    this.requests.push(req.url);
    const up = request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: { ...forwardable(req.headers), host: this.target.host },
        agent: this.agent,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode, forwardable(upRes.headers));
        res.flushHeaders();
        let held = [];
        let size = 0;
        upRes.on('data', (chunk) => {
          held.push(chunk);
          size += chunk.length;
          if (size < this.limit) return;
          res.write(Buffer.concat(held));
          held = [];
          size = 0;
        });
        upRes.on('end', () => res.end(Buffer.concat(held)));
        upRes.on('error', () => res.destroy());
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end('bad gateway\n');
      else res.destroy();
    });
    // The client went away: so does the upstream request.
    res.on('close', () => res.writableFinished || up.destroy());
    req.pipe(up);
  }
}
