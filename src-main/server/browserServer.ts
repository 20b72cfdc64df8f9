// Browser mode: the built renderer over HTTP and the host API over one WebSocket (`/api`), on
// loopback. Anything on this machine (other users, any web page the user visits) can reach a
// loopback port, so every request needs the per-start token, and Host/Origin are checked so
// that DNS rebinding and cross-site sockets are refused even when they somehow carry it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { EventMessage, ResponseMessage } from '../../shared/contract.js';
import { API_PROTOCOL } from '../../shared/ipc.js';
import { errorMessage } from '../../shared/errors.js';

/** The part of the host the server relays to; src-main/host/host.ts's Host fits it. */
export interface HostConnection {
  handle(raw: unknown): Promise<ResponseMessage>;
  subscribe(listener: (event: EventMessage) => void): () => void;
}

export interface BrowserServerOptions {
  host: HostConnection;
  /** 0 picks a free port. */
  port?: number;
  /** Only an explicit value other than loopback widens who can connect; a warning says so. */
  bindHost?: string;
  /** The built renderer (dist/renderer): index.html and its assets. */
  rendererDir: string;
  /** Where the warning about a non-loopback bindHost goes (stderr by default). */
  warn?: (message: string) => void;
  /**
   * The access token: a stable one (serve.ts keeps one per history folder, owner-only) so
   * bookmarks survive restarts; a fresh random one per start when absent.
   */
  token?: string;
}

export interface BrowserServer {
  /** The address to open, token included: http://127.0.0.1:PORT/?token=TOKEN */
  url: string;
  port: number;
  token: string;
  /**
   * An address for a browser opener (xdg-open, open): a one-time code instead of the token, valid
   * for LOGIN_CODE_MS and for one load, exchanged for the session cookie. Command lines are visible
   * to every local user (ps), so the token itself never goes on one.
   */
  loginUrl(): string;
  close(): Promise<void>;
}

/** How long a one-time login code stays valid. */
export const LOGIN_CODE_MS = 60_000;

/** The WebSocket subprotocol the server speaks (shared/ipc.ts); the client also offers `token.<TOKEN>`. */
export { API_PROTOCOL };
const TOKEN_PROTOCOL_PREFIX = 'token.';
/** A host request is a small JSON object; anything bigger is a mistake or an attack. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** A socket that stops reading gets cut off instead of growing the server's memory without bound. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const WILDCARD = new Set(['0.0.0.0', '::']);

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Host header values that name this server: loopback names, plus the bind address(es) when widened. */
function allowedHosts(bindHost: string, port: number): Set<string> {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  if (WILDCARD.has(bindHost)) {
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const a of addresses ?? []) names.push(hostPart(a.address.split('%')[0]));
    }
  } else if (!LOOPBACK.has(bindHost)) {
    names.push(hostPart(bindHost));
  }
  return new Set(names.map((n) => `${n}:${port}`.toLowerCase()));
}

/** The page's policy: nothing inline, nothing from elsewhere, sockets only back to this server. */
/** The policy for the page's <meta>: the header's, less frame-ancestors (ignored in a <meta>). */
export function metaContentSecurityPolicy(port: number): string {
  return contentSecurityPolicy(port).replace(/; frame-ancestors 'none'$/, '');
}

/** index.html's CSP <meta> (the desktop policy as built) replaced by this server's own policy. */
export function withMetaPolicy(html: string, port: number): string {
  return html.replace(
    /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")[^"]*(")/i,
    `$1${metaContentSecurityPolicy(port)}$2`,
  );
}

export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** An error response for a frame the host never saw (the envelope could not even be read). */
function invalidRequest(message: string, id: unknown = null) {
  // The whole frame is what is wrong, named as the contract names it.
  return { id, ok: false, error: { code: 'invalid-request', message, field: 'request' } };
}

/** Writes a plain HTTP refusal on a socket that asked to upgrade, then closes it. */
function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: ` +
      `text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.destroy();
}

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const { host, rendererDir } = options;
  const explicitBind = options.bindHost !== undefined;
  const bindHost = options.bindHost ?? '127.0.0.1';
  const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  const root = path.resolve(rendererDir);
  const token = options.token ?? randomBytes(24).toString('base64url');
  // The cookie never holds the token: a per-start session secret under a per-start name. Cookies
  // ignore ports, so another local server the browser visits may receive it; it is then worth
  // nothing after this server stops, and names no other server's cookie.
  const session = randomBytes(24).toString('base64url');
  const cookieName = `mixcd-${randomBytes(6).toString('hex')}`;
  /** One-time codes -> expiry (ms since epoch). */
  const codes = new Map<string, number>();
  const takeCode = (code: string | null): boolean => {
    if (!code) return false;
    const now = Date.now();
    for (const [c, expiry] of codes) if (expiry < now) codes.delete(c);
    for (const c of codes.keys()) {
      if (sameToken(code, c)) {
        codes.delete(c); // one use
        return true;
      }
    }
    return false;
  };

  // Known once listening (port 0 picks one).
  let port = 0;
  let hosts = new Set<string>();
  let origins = new Set<string>();
  let csp = '';

  const baseHeaders = (): Record<string, string> => ({
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    // The first URL carries the token: never leak it to another site through Referer.
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  });

  const sendText = (res: http.ServerResponse, status: number, message: string) => {
    res.writeHead(status, {
      ...baseHeaders(),
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    res.end(`${message}\n`);
  };

  const serveFile = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    pathname: string,
    extra: Record<string, string>,
  ) => {
    let relative: string;
    try {
      relative = decodeURIComponent(pathname);
    } catch {
      return sendText(res, 400, `The path ${pathname} is not valid.`);
    }
    if (relative === '/' || relative === '') relative = '/index.html';
    const file = path.resolve(root, `.${path.posix.normalize(relative)}`);
    // Never outside the renderer folder, whatever `..` or encoded separators the path holds.
    if (file !== root && !file.startsWith(root + path.sep)) return sendText(res, 404, `There is no ${pathname} here.`);
    let size: number;
    try {
      const info = await stat(file);
      if (!info.isFile()) return sendText(res, 404, `There is no ${pathname} here.`);
      size = info.size;
    } catch {
      return sendText(res, 404, `There is no ${pathname} here.`);
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    if (relative === '/index.html') {
      // One policy per page: the <meta> says what this server's header says (the built file carries
      // the desktop window's, which allows no sockets).
      const body = Buffer.from(withMetaPolicy(await readFile(file, 'utf8'), port));
      res.writeHead(200, {
        ...baseHeaders(),
        ...extra,
        'Content-Type': type,
        'Content-Length': String(body.byteLength),
        'Cache-Control': 'no-store',
      });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    // Vite puts a content hash in asset names, so only index.html must never be cached.
    const cache = relative.startsWith('/assets/') ? 'private, max-age=31536000, immutable' : 'no-store';
    res.writeHead(200, {
      ...baseHeaders(),
      ...extra,
      'Content-Type': type,
      'Content-Length': String(size),
      'Cache-Control': cache,
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const server = http.createServer((req, res) => {
    if (!hosts.has((req.headers.host ?? '').toLowerCase())) {
      return sendText(
        res,
        403,
        `This workbench server answers only at http://127.0.0.1:${port}/ (the Host ` +
          `header "${req.headers.host ?? ''}" is refused).`,
      );
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const queryToken = url.searchParams.get('token');
    const fromQuery = sameToken(queryToken, token);
    const sessionCookie = `${cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`;
    if (url.searchParams.has('code')) {
      if (!takeCode(url.searchParams.get('code')))
        return sendText(
          res,
          401,
          'This one-time address was already used or has expired: open the address ' +
            'that `mixcd serve` or `npm start` printed.',
        );
      // Exchanged for the session cookie, then off to the page without the code in the address.
      res.writeHead(303, { ...baseHeaders(), Location: '/', 'Set-Cookie': sessionCookie, 'Cache-Control': 'no-store' });
      return void res.end();
    }
    if (!fromQuery && !sameToken(cookieValue(req.headers.cookie, cookieName), session)) {
      return sendText(
        res,
        401,
        'This mix-cd workbench needs its access token: open the full address that ' +
          '`mixcd serve` or `npm start` printed (it ends in ?token=...).',
      );
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, `${req.method} is not served here; the API is the WebSocket at /api.`);
    }
    // The page's own sub-resources (scripts, styles, icon) cannot carry the query, so the first
    // authorised load leaves the token in a cookie that only this origin's pages send back
    // (SameSite=Strict: not on cross-site requests; HttpOnly: page scripts cannot read it).
    const extra: Record<string, string> = fromQuery ? { 'Set-Cookie': sessionCookie } : {};
    serveFile(req, res, url.pathname, extra).catch(() => res.destroy());
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    // Answer with the API protocol, never echo the token back.
    handleProtocols: (protocols) => (protocols.has(API_PROTOCOL) ? API_PROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();

  const send = (socket: WebSocket, message: unknown) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES)
      return void socket.close(1013, 'The client is not reading its messages.');
    socket.send(JSON.stringify(message));
  };

  const onFrame = async (socket: WebSocket, data: RawData, isBinary: boolean) => {
    if (isBinary) return send(socket, invalidRequest('Send requests as JSON text frames: {"id", "method", "params"}.'));
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      return send(
        socket,
        invalidRequest('The frame is not JSON: send {"id", "method", "params"} as a JSON text frame.'),
      );
    }
    try {
      send(socket, await host.handle(parsed));
    } catch (error) {
      // The host answers failures itself; this is the last guard so one bad request never ends the server.
      const id = parsed && typeof parsed === 'object' && 'id' in parsed ? (parsed as { id: unknown }).id : null;
      send(socket, {
        id,
        ok: false,
        error: { code: 'failed', message: errorMessage(error) },
      });
    }
  };

  server.on('upgrade', (req, socket: Duplex, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!hosts.has((req.headers.host ?? '').toLowerCase()))
      return refuseUpgrade(socket, 403, 'The Host header does not name this server.');
    // Browsers always send Origin on sockets; a page of another site (or a rebinding name) is refused.
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin.toLowerCase()))
      return refuseUpgrade(socket, 403, `Sockets from ${origin} are refused.`);
    if (url.pathname !== '/api') return refuseUpgrade(socket, 404, 'The API socket is /api.');
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const protocolToken = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))?.slice(TOKEN_PROTOCOL_PREFIX.length);
    // The token (subprotocol or query), or this start's session cookie: a page opened from a
    // bookmark or a one-time code has no token, and the Origin check above keeps other sites out.
    const bySession = sameToken(cookieValue(req.headers.cookie, cookieName), session);
    if (!bySession && !sameToken(protocolToken ?? url.searchParams.get('token'), token))
      return refuseUpgrade(socket, 401, 'The API socket needs the access token.');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('message', (data, isBinary) => void onFrame(ws, data, isBinary));
      ws.on('close', () => sockets.delete(ws));
      // A frame over maxPayload or a protocol error closes that socket; the server stays up.
      ws.on('error', () => ws.terminate());
    });
  });
  // A client resetting its connection must not become an unhandled 'error' event.
  server.on('clientError', (_error, socket: Socket) => socket.destroy());

  const unsubscribe = host.subscribe((event) => {
    for (const socket of sockets) send(socket, event);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    unsubscribe();
    throw error;
  }

  port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(bindHost, port);
  origins = new Set([...hosts].map((h) => `http://${h}`));
  csp = contentSecurityPolicy(port);
  if (explicitBind && !LOOPBACK.has(bindHost)) {
    warn(
      `mixcd: warning: listening on ${bindHost}, so other machines that can reach ` +
        `it may connect; the token is still required. Use 127.0.0.1 to keep the ` +
        `workbench to this machine.`,
    );
  }
  const urlHost = WILDCARD.has(bindHost) || LOOPBACK.has(bindHost) ? '127.0.0.1' : hostPart(bindHost);

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    port,
    token,
    loginUrl() {
      const code = randomBytes(18).toString('base64url');
      codes.set(code, Date.now() + LOGIN_CODE_MS);
      return `http://${urlHost}:${port}/?code=${code}`;
    },
    close() {
      closing ??= (async () => {
        unsubscribe();
        for (const socket of sockets) socket.terminate();
        sockets.clear();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
