// Browser mode's server over real HTTP and WebSocket on 127.0.0.1: what an authorised page gets,
// and every refusal (token, Host, Origin, malformed frames). A fake host stands in where the test
// needs to drive events; the real host answers one round trip on an empty history.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { serveCommand } from '../../src-main/cli/serve.js';
import { createHost } from '../../src-main/host/host.js';
import {
  API_PROTOCOL,
  MAX_FRAME_BYTES,
  startBrowserServer,
  type BrowserServer,
  type HostConnection,
} from '../../src-main/server/browserServer.js';
import type { EventMessage } from '../../shared/contract.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-server-'));
const rendererDir = path.join(work, 'renderer');

/** Answers every request by echoing it; `emit` plays a host event. */
function fakeHost() {
  const listeners = new Set<(event: EventMessage) => void>();
  const seen: unknown[] = [];
  const host: HostConnection & { emit(event: EventMessage): void; seen: unknown[] } = {
    seen,
    async handle(raw) {
      seen.push(raw);
      const { id, method, params } = raw as { id: number; method: string; params?: unknown };
      return { id, ok: true, result: { method, params } };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event) {
      for (const l of listeners) l(event);
    },
  };
  return host;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(port: number, pathAndQuery: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathAndQuery, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Opens a socket; resolves to it when open, or to the HTTP status of the refusal. */
function openSocket(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    socket.once('error', reject);
  });
}

function nextMessage(socket: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
}

let server: BrowserServer;
let host: ReturnType<typeof fakeHost>;
const sockets: WebSocket[] = [];

async function authorised(): Promise<WebSocket> {
  const socket = await openSocket(`ws://127.0.0.1:${server.port}/api`, {
    protocols: [API_PROTOCOL, `token.${server.token}`],
  });
  if (typeof socket === 'number') throw new Error(`refused with ${socket}`);
  sockets.push(socket);
  return socket;
}

beforeAll(async () => {
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(
    path.join(rendererDir, 'index.html'),
    '<!doctype html><title>t</title><script type="module" src="./assets/app.js"></script>',
  );
  writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'export {};\n');
  writeFileSync(path.join(work, 'secret.txt'), 'not for the page');
  host = fakeHost();
  server = await startBrowserServer({ host, rendererDir });
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.terminate();
});

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

describe('HTTP', () => {
  it('serves the page with the token, with a strict CSP and a cookie for its assets', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{32}$/); // 24 random bytes, base64url
    const page = await get(server.port, `/?token=${server.token}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const cookie = String(page.headers['set-cookie']?.[0]);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');

    const asset = await get(server.port, '/assets/app.js', { cookie: cookie.split(';')[0] });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it('refuses requests without the token or with a wrong one (401)', async () => {
    expect((await get(server.port, '/')).status).toBe(401);
    expect((await get(server.port, '/assets/app.js')).status).toBe(401);
    const wrong = await get(server.port, '/?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/open the full address/);
    expect((await get(server.port, '/', { cookie: `mixcd-token-${server.port}=nope` })).status).toBe(401);
  });

  it('refuses a Host header that is not this server (403), even with the token', async () => {
    const rebinding = await get(server.port, `/?token=${server.token}`, { host: `evil.example:${server.port}` });
    expect(rebinding.status).toBe(403);
    expect((await get(server.port, `/?token=${server.token}`, { host: `127.0.0.1:${server.port + 1}` })).status).toBe(
      403,
    );
    expect((await get(server.port, `/?token=${server.token}`, { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('serves nothing outside the renderer folder', async () => {
    const q = `?token=${server.token}`;
    expect((await get(server.port, `/../secret.txt${q}`)).status).toBe(404);
    expect((await get(server.port, `/%2e%2e/secret.txt${q}`)).status).toBe(404);
    expect((await get(server.port, `/..%2fsecret.txt${q}`)).status).toBe(404);
    expect((await get(server.port, `/missing.js${q}`)).status).toBe(404);
  });
});

describe('WebSocket /api', () => {
  it('answers a request with the host response (token as subprotocol)', async () => {
    const socket = await authorised();
    expect(socket.protocol).toBe(API_PROTOCOL); // the token is never echoed back
    const reply = nextMessage(socket);
    socket.send(JSON.stringify({ id: 7, method: 'runs.list', params: {} }));
    expect(await reply).toEqual({ id: 7, ok: true, result: { method: 'runs.list', params: {} } });
  });

  it('also takes the token as a query parameter', async () => {
    const socket = await openSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    expect(socket).toBeInstanceOf(WebSocket);
    (socket as WebSocket).terminate();
  });

  it('broadcasts host events to every authorised socket', async () => {
    const [a, b] = [await authorised(), await authorised()];
    const got = [nextMessage(a), nextMessage(b)];
    const event: EventMessage = {
      event: 'run.progress',
      data: { runId: 1, phase: 'finetuning', step: 10, totalSteps: 100 },
    };
    host.emit(event);
    expect(await Promise.all(got)).toEqual([event, event]);
  });

  it('refuses sockets without the token or with a wrong one (401)', async () => {
    expect(await openSocket(`ws://127.0.0.1:${server.port}/api`)).toBe(401);
    expect(await openSocket(`ws://127.0.0.1:${server.port}/api`, { protocols: [API_PROTOCOL, 'token.wrong'] })).toBe(
      401,
    );
    expect(await openSocket(`ws://127.0.0.1:${server.port}/api?token=wrong`)).toBe(401);
  });

  it('refuses a foreign Origin (403) and a foreign Host (403), even with the token', async () => {
    const protocols = [API_PROTOCOL, `token.${server.token}`];
    const url = `ws://127.0.0.1:${server.port}/api`;
    expect(await openSocket(url, { protocols, headers: { origin: 'https://evil.example' } })).toBe(403);
    expect(await openSocket(url, { protocols, headers: { origin: `http://127.0.0.1:${server.port + 1}` } })).toBe(403);
    expect(await openSocket(url, { protocols, headers: { host: `evil.example:${server.port}` } })).toBe(403);
    const ours = await openSocket(url, { protocols, headers: { origin: `http://127.0.0.1:${server.port}` } });
    expect(ours).toBeInstanceOf(WebSocket);
    (ours as WebSocket).terminate();
  });

  it('answers malformed frames with invalid-request and stays up', async () => {
    const socket = await authorised();
    let reply = nextMessage(socket);
    socket.send('this is not JSON {');
    expect(await reply).toMatchObject({ id: null, ok: false, error: { code: 'invalid-request' } });
    reply = nextMessage(socket);
    socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await reply).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
    reply = nextMessage(socket);
    socket.send(JSON.stringify({ id: 8, method: 'runs.list' }));
    expect(await reply).toMatchObject({ id: 8, ok: true });
  });

  it('closes a socket that sends a frame over the size limit, and keeps serving others', async () => {
    const socket = await authorised();
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(MAX_FRAME_BYTES + 1));
    expect(await closed).toBe(1009); // "message too big"
    const other = await authorised();
    const reply = nextMessage(other);
    other.send(JSON.stringify({ id: 9, method: 'runs.list' }));
    expect(await reply).toMatchObject({ id: 9, ok: true });
  });
});

describe('listening', () => {
  function canConnect(hostAddress: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: hostAddress, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  it('listens on 127.0.0.1 only', async () => {
    expect(await canConnect('127.0.0.1', server.port)).toBe(true);
    expect(await canConnect('::1', server.port)).toBe(false);
    const external = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    for (const address of external) expect(await canConnect(address, server.port)).toBe(false);
  });

  it('warns when told to listen elsewhere', async () => {
    const warnings: string[] = [];
    const wide = await startBrowserServer({
      host: fakeHost(),
      rendererDir,
      bindHost: '0.0.0.0',
      warn: (m) => warnings.push(m),
    });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/0\.0\.0\.0/);
      expect(wide.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    } finally {
      await wide.close();
    }
    const quiet: string[] = [];
    const local = await startBrowserServer({ host: fakeHost(), rendererDir, warn: (m) => quiet.push(m) });
    await local.close();
    expect(quiet).toEqual([]);
  });
});

describe('with the real host', () => {
  it('round-trips runs.list on an empty history and relays the host refusal of an unknown method', async () => {
    const real = createHost({ historyFile: path.join(work, 'history.db'), cacheDir: path.join(work, 'cache') });
    const served = await startBrowserServer({ host: real, rendererDir });
    try {
      const socket = await openSocket(`ws://127.0.0.1:${served.port}/api`, {
        protocols: [API_PROTOCOL, `token.${served.token}`],
      });
      if (typeof socket === 'number') throw new Error(`refused with ${socket}`);
      sockets.push(socket);
      let reply = nextMessage(socket);
      socket.send(JSON.stringify({ id: 'a', method: 'runs.list', params: {} }));
      expect(await reply).toEqual({ id: 'a', ok: true, result: [] });
      reply = nextMessage(socket);
      socket.send(JSON.stringify({ id: 'b', method: 'runs.nope' }));
      expect(await reply).toMatchObject({ id: 'b', ok: false, error: { code: 'invalid-request', field: 'method' } });
    } finally {
      await served.close();
      await real.close();
    }
  });
});

describe('serveCommand (mixcd serve)', () => {
  it('opens the host on the history, prints exactly one URL line, and closes everything when stopped', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    let opened: unknown = null;
    let hostClosed = false;
    const done = serveCommand({
      rendererDir,
      db: path.join(work, 'served.db'),
      out: (line) => lines.push(line),
      signal: stop.signal,
      openHost: (options) => {
        opened = options;
        return { ...fakeHost(), close: async () => void (hostClosed = true) };
      },
    });
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    const match = /^mix-cd workbench: (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32})$/.exec(lines[0]);
    expect(match).not.toBeNull();
    expect(opened).toEqual({
      historyFile: path.join(work, 'served.db'),
      cacheDir: process.env.MIXCD_CACHE_DIR ?? path.join(work, 'f0-cache'),
    });
    expect((await fetch(match![1])).status).toBe(200);
    stop.abort();
    expect(await done).toBe(0);
    expect(hostClosed).toBe(true);
    await expect(fetch(match![1])).rejects.toThrow();
  });

  it('answers a bad port or a missing page build with a sentence and an exit code', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((text) => (errors.push(String(text)), true));
    try {
      expect(await serveCommand({ rendererDir, port: 'eighty' })).toBe(2);
      expect(await serveCommand({ rendererDir: path.join(work, 'nothing-built') })).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors[0]).toMatch(/^mixcd: --port "eighty" is not valid: give a whole number/);
    expect(errors[1]).toMatch(/is missing\): run `npm run build` first\.\n$/);
  });
});
