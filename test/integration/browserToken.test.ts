// Browser mode's token (issue 11, broken 8 and "bookmarks"): the opener gets a one-time code, not
// the token; the cookie holds a per-start session under a per-start name, never the token; a
// bookmarked view works in a new tab with the cookie; the token is stable per history folder,
// owner-only, and rotatable.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { TOKEN_FILE, serveCommand, stableToken } from '../../src-main/cli/serve.js';
import { API_PROTOCOL, startBrowserServer, type BrowserServer } from '../../src-main/server/browserServer.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-token-'));
const rendererDir = path.join(work, 'renderer');
const fakeHost = () => ({
  async handle(raw: unknown) {
    return { id: (raw as { id: number }).id, ok: true as const, result: null };
  },
  subscribe: () => () => {},
});

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      })
      .on('error', reject);
  });
}

function socketStatus(port: number, protocols: string[], headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/api`, protocols, {
      headers: { origin: `http://127.0.0.1:${port}`, ...headers },
    });
    socket.once('open', () => (socket.terminate(), resolve(101)));
    socket.once('unexpected-response', (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
    socket.once('error', reject);
  });
}

let server: BrowserServer;
beforeAll(async () => {
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  server = await startBrowserServer({ host: fakeHost(), rendererDir });
});
afterAll(() => server.close());

describe('one-time login code', () => {
  it('is exchanged once for a session cookie that never holds the token, then refused', async () => {
    const login = server.loginUrl();
    expect(login).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?code=[A-Za-z0-9_-]{24}$/);
    expect(login).not.toContain(server.token);
    const first = await get(login);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = String(first.headers['set-cookie']?.[0]);
    expect(cookie).toMatch(/^mixcd-[0-9a-f]{12}=[A-Za-z0-9_-]{32}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(server.token);
    expect(cookie).not.toContain(String(server.port));
    expect((await get(login)).status).toBe(401); // one use

    // A bookmarked view in a new tab: the page and the API socket, with the cookie and no token.
    const pair = cookie.split(';')[0];
    expect((await get(`http://127.0.0.1:${server.port}/`, { cookie: pair })).status).toBe(200);
    expect(await socketStatus(server.port, [API_PROTOCOL], { cookie: pair })).toBe(101);
    expect(await socketStatus(server.port, [API_PROTOCOL], {})).toBe(401);
    expect(await socketStatus(server.port, [API_PROTOCOL], { cookie: `${pair.split('=')[0]}=wrong` })).toBe(401);
  });

  it('expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const login = server.loginUrl();
      vi.setSystemTime(Date.now() + 61_000);
      expect((await get(login)).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives each start its own cookie name', async () => {
    const other = await startBrowserServer({ host: fakeHost(), rendererDir, token: server.token });
    try {
      const a = String((await get(server.loginUrl())).headers['set-cookie']?.[0]).split('=')[0];
      const b = String((await get(other.loginUrl())).headers['set-cookie']?.[0]).split('=')[0];
      expect(a).not.toBe(b);
    } finally {
      await other.close();
    }
  });
});

describe('stable token per history folder', () => {
  it('is stored owner-only, kept across starts, rotated on demand, and its permissions repaired', () => {
    const folder = path.join(work, 'history');
    const first = stableToken(folder);
    const file = path.join(folder, TOKEN_FILE);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(stableToken(folder).token).toBe(first.token);
    const rotated = stableToken(folder, true);
    expect(rotated.token).not.toBe(first.token);
    expect(rotated.note).toContain('no longer work');
    expect(readFileSync(file, 'utf8').trim()).toBe(rotated.token);
    chmodSync(file, 0o644);
    const repaired = stableToken(folder);
    expect(repaired.token).toBe(rotated.token);
    expect(repaired.note).toMatch(/could be read by other users; it is now owner-only/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('serveCommand prints the stable token and hands the opener only a one-time code', async () => {
    const db = path.join(work, 'served', 'h.db');
    const lines: string[] = [];
    const opened: string[] = [];
    const stop = new AbortController();
    const done = serveCommand({
      rendererDir,
      db,
      out: (line) => lines.push(line),
      open: (url) => opened.push(url),
      signal: stop.signal,
      openHost: () => ({ ...fakeHost(), close: async () => {} }),
    });
    await vi.waitFor(() => expect(opened).toHaveLength(1));
    const token = readFileSync(path.join(path.dirname(db), TOKEN_FILE), 'utf8').trim();
    expect(lines[0]).toMatch(new RegExp(`/\\?token=${token}$`));
    expect(opened[0]).toMatch(/\/\?code=/);
    expect(opened[0]).not.toContain(token);
    stop.abort();
    expect(await done).toBe(0);
  });
});
