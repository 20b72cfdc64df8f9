// `mixcd serve`: the workbench in a browser, for machines without the desktop app (no Electron
// binary, no display, or a remote box reached through an SSH tunnel). Same history as the CLI.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../packageRoot.js';
import { createHost } from '../host/host.js';
import { startBrowserServer, type HostConnection } from '../server/browserServer.js';
import { defaultHistoryPath } from '../store/database.js';

export interface ServeOptions {
  /** --port: 0 or absent picks a free port. */
  port?: string | number;
  /** --host: the address to listen on; loopback unless given. */
  host?: string;
  /** --db: the history file (else MIXCD_DB, else the app-data folder). */
  db?: string;
  /** The built renderer; dist/renderer of this package by default. */
  rendererDir?: string;
  /**
   * On an empty history, queue the built-in default study (rot90 on Fashion-MNIST: none, random
   * and mix-cd at r = 0.1, seed 1), so a first start has something to watch (`npm start`).
   */
  demo?: boolean;
  /** Stops the server like SIGINT does (for callers that embed it, e.g. tests). */
  signal?: AbortSignal;
  /** Where the one URL line goes (stdout by default). */
  out?: (line: string) => void;
  /**
   * Hands a browser opener its address: a one-time code exchanged for the session cookie, never
   * the token, since an opener's command line is visible to every local user.
   */
  open?: (url: string) => void;
  /** --rotate-token: replace the stored token (old bookmarks and printed addresses stop working). */
  rotateToken?: boolean;
  /** Opens the host; createHost by default (tests pass a fake). */
  openHost?: (options: {
    historyFile: string;
    cacheDir: string;
  }) => (HostConnection & { close(): Promise<void> }) | Promise<HostConnection & { close(): Promise<void> }>;
}

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export function defaultRendererDir(): string {
  return path.join(packageRoot(), 'dist', 'renderer');
}

function parsePort(value: string | number | undefined): number | null {
  if (value === undefined || value === '') return 0;
  const port = Number(value);
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : null;
}

/** The browser-mode token file, beside the history: one stable token per history folder. */
export const TOKEN_FILE = 'browser-token';

/**
 * The stable access token of this history folder: read from `browser-token` (owner-only, 0600),
 * or made and stored there on first use or with --rotate-token. Stable, so a bookmarked address
 * keeps working across restarts.
 */
export function stableToken(folder: string, rotate = false): { token: string; note: string | null } {
  const file = path.join(folder, TOKEN_FILE);
  let note: string | null = null;
  if (!rotate && existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{32}$/.test(token)) {
      if ((statSync(file).mode & 0o077) !== 0) {
        chmodSync(file, 0o600);
        note =
          `the token file ${file} could be read by other users; it is now owner-only ` +
          `(rotate it with --rotate-token).`;
      }
      return { token, note };
    }
    note = `the token file ${file} did not hold a token; a new one was made.`;
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(folder, { recursive: true });
  const staging = `${file}.tmp-${process.pid}`;
  writeFileSync(staging, `${token}\n`, { mode: 0o600 });
  renameSync(staging, file);
  if (rotate) note = `a new token is stored in ${file}; addresses with the old one no longer work.`;
  return { token, note };
}

export const DEFAULT_STUDY = {
  name: 'built-in default: rot90, none vs random vs mix-cd at r = 0.1',
  base: { scenario: 'rot90' },
  strategies: ['none', 'random', 'mix-cd'],
  budgets: [0.1],
  seeds: [1],
} as const;

async function queueDefaultStudy(host: HostConnection): Promise<void> {
  const listed = await host.handle({ id: 'demo-list', method: 'runs.list', params: { filter: { limit: 1 } } });
  if (!listed.ok || (listed.result as unknown[]).length > 0) return;
  const started = await host.handle({ id: 'demo-start', method: 'studies.start', params: DEFAULT_STUDY });
  process.stderr.write(
    started.ok
      ? `mixcd: the history is empty, so the built-in default study is queued (${DEFAULT_STUDY.name}); ` +
          `the first run pretrains f0 once (a few minutes on one CPU core).\n`
      : `mixcd: could not queue the built-in default study: ${started.error.message}\n`,
  );
}

/** Serves until SIGINT/SIGTERM (or options.signal); resolves to the exit code. */
export async function serveCommand(options: ServeOptions = {}): Promise<number> {
  const port = parsePort(options.port);
  if (port === null) {
    process.stderr.write(
      `mixcd: --port "${String(options.port)}" is not valid: give a whole number ` +
        `from 1 to 65535 (or 0 for any free port).\n`,
    );
    return EXIT_USAGE;
  }
  const rendererDir = options.rendererDir ?? defaultRendererDir();
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    process.stderr.write(
      `mixcd: the workbench page is not built (${path.join(rendererDir, 'index.html')} ` +
        `is missing): run \`npm run build\` first.\n`,
    );
    return EXIT_FAILED;
  }
  const historyFile = options.db ? path.resolve(options.db) : defaultHistoryPath();
  // f0s live beside the history unless MIXCD_CACHE_DIR says otherwise, as for `mixcd run`.
  const cacheDir = process.env.MIXCD_CACHE_DIR ?? path.join(path.dirname(historyFile), 'f0-cache');
  const openHost = options.openHost ?? createHost;
  const host = await openHost({ historyFile, cacheDir });

  let server;
  try {
    const { token, note } = stableToken(path.dirname(historyFile), options.rotateToken);
    if (note) process.stderr.write(`mixcd: ${note}\n`);
    server = await startBrowserServer({ host, port, bindHost: options.host, rendererDir, token });
  } catch (error) {
    await host.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      process.stderr.write(
        `mixcd: port ${port} is already in use: pick another with --port, or leave it out for any free port.\n`,
      );
    else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      process.stderr.write(`mixcd: cannot listen on --host "${options.host}": it is not an address of this machine.\n`);
    else throw error;
    return EXIT_FAILED;
  }
  (options.out ?? ((line: string) => process.stdout.write(`${line}\n`)))(`mix-cd workbench: ${server.url}`);
  options.open?.(server.loginUrl());
  if (options.demo) await queueDefaultStudy(host);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop);
  });
  // A second Ctrl-C while runs are being cancelled and the history closed quits at once.
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  try {
    await server.close();
    await host.close();
  } finally {
    process.off('SIGINT', force);
  }
  return 0;
}
