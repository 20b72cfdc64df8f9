// `npm start` (scripts/start.mjs) in browser mode for the end-to-end tests: no display, its own
// history and f0 cache, no built-in demo study; resolves once it prints its URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(__dirname, '../..');
export const electronInstalled = existsSync(path.join(root, 'node_modules/electron/path.txt'));

export interface StartedApp {
  app: ChildProcess;
  url: string;
  /** Everything the app printed on stdout so far. */
  stdout(): string;
  exited: Promise<number | null>;
}

export async function startBrowserMode(options: {
  db: string;
  cacheDir: string;
  timeoutMs?: number;
}): Promise<StartedApp> {
  const env: NodeJS.ProcessEnv = { ...process.env, MIXCD_DB: options.db, MIXCD_CACHE_DIR: options.cacheDir };
  // No display: nothing tries to open a real browser window on the test machine.
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  const app = spawn(
    process.execPath,
    [path.join(root, 'scripts/start.mjs'), '--no-demo', ...(electronInstalled ? ['--browser'] : [])],
    {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => app.once('exit', (code) => resolve(code)));
  let stdout = '';
  // Generous: a first start on a fresh checkout compiles the host and builds the page.
  const timeoutMs = options.timeoutMs ?? 240_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL after ${timeoutMs} ms; stdout: ${stdout}`)), timeoutMs);
    app.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^mix-cd workbench: (http:\/\/\S+)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    app.once('exit', (code) =>
      reject(new Error(`npm start exited with ${code} before printing a URL; stdout: ${stdout}`)),
    );
  });
  return { app, url, stdout: () => stdout, exited };
}
