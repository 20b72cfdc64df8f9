// The desktop app: one window on the built renderer, the host in this (main) process, and every
// run in its own Electron utility process, so training never blocks the window or the host.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, session, utilityProcess } from 'electron';
import type { EventMessage } from '../shared/contract.js';
import { createRequestHandler, EVENT_CHANNEL, REQUEST_CHANNEL } from './desktop/ipcGuard.js';
import { hardenWebContents, secureSession, windowOptions } from './desktop/windowOptions.js';
import { createHost, type Host } from './host/host.js';
import type { SpawnTrainer } from './host/trainerProcess.js';
import { defaultHistoryPath } from './store/database.js';
import { packageRoot } from './packageRoot.js';
import { errorMessage } from '../shared/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/src-main when built
const root = packageRoot(here);
export const rendererDir = path.join(root, 'dist', 'renderer');
export const rendererIndexUrl = pathToFileURL(path.join(rendererDir, 'index.html')).href;
const rendererDirUrl = pathToFileURL(rendererDir + path.sep).href;
const preloadPath = path.join(here, 'preload.cjs');

/** Trainers as Electron utility processes (a Node child_process would need a Node binary beside the app). */
export const utilityTrainer: SpawnTrainer = (entry) => {
  const child = utilityProcess.fork(entry, [], { serviceName: 'mix-cd trainer', stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // Messages posted before the process is up are held until it is.
  let spawned = false;
  const outbox: unknown[] = [];
  child.once('spawn', () => {
    spawned = true;
    for (const message of outbox.splice(0)) child.postMessage(message);
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (message) => (spawned ? child.postMessage(message) : void outbox.push(message)),
    kill: (signal) => {
      // utilityProcess.kill() is always a graceful SIGTERM; the host's SIGKILL fallback goes by pid.
      if (signal === 'SIGKILL' && child.pid !== undefined && process.platform !== 'win32') {
        try {
          process.kill(child.pid, 'SIGKILL');
          return;
        } catch {
          // already gone
        }
      }
      child.kill();
    },
    onMessage: (listener) => void child.on('message', listener),
    // utilityProcess reports an exit code only, never the signal.
    onExit: (listener) => void child.once('exit', (code) => listener(code, null, stderr)),
  };
};

export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow(windowOptions(preloadPath));
  hardenWebContents(window.webContents);
  window.once('ready-to-show', () => window.show());
  void window.loadURL(rendererIndexUrl);
  return window;
}

function broadcast(message: EventMessage): void {
  for (const window of BrowserWindow.getAllWindows()) {
    if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, message);
  }
}

/** Wires the host to IPC: requests in (guarded), events out to every window. */
export function connectHost(host: Pick<Host, 'handle' | 'subscribe'>): () => void {
  ipcMain.handle(REQUEST_CHANNEL, createRequestHandler(host, rendererIndexUrl));
  const unsubscribe = host.subscribe(broadcast);
  return () => {
    unsubscribe();
    ipcMain.removeHandler(REQUEST_CHANNEL);
  };
}

async function startDesktop(): Promise<void> {
  // Two instances would both run trainers on, and mark each other's runs in, one history.
  if (!app.requestSingleInstanceLock()) return app.quit();
  app.enableSandbox();
  // Every webContents, including any created later, gets the same navigation and popup rules.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  await app.whenReady();

  secureSession(session.defaultSession, rendererDirUrl);

  const historyFile = defaultHistoryPath();
  let host: Host;
  try {
    host = await createHost({
      historyFile,
      cacheDir: process.env.MIXCD_CACHE_DIR ?? path.join(path.dirname(historyFile), 'f0-cache'),
      spawnTrainer: utilityTrainer,
    });
  } catch (error) {
    const message = errorMessage(error);
    // A native addon built for Node's ABI, not Electron's: the usual state of a development checkout.
    const abi = /NODE_MODULE_VERSION|ERR_DLOPEN_FAILED|was compiled against a different/.test(message);
    dialog.showErrorBox(
      'mix-cd workbench cannot start',
      abi
        ? `The history database driver (better-sqlite3) in this install is built ` +
            `for Node.js, not for Electron, so the window cannot open ${historyFile}. ` +
            `Use \`npm start -- --browser\` (or \`mixcd serve\`), or rebuild it for ` +
            `Electron with @electron/rebuild.\n\n${message}`
        : message,
    );
    return app.quit();
  }
  const disconnect = connectHost(host);

  let window = createMainWindow();
  app.on('second-instance', () => {
    if (window.isDestroyed()) window = createMainWindow();
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) window = createMainWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  // Cancel running trainers and close the history before the process goes.
  let closed = false;
  app.on('before-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    disconnect();
    void host.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
}

// Importing this module (tests, with electron mocked) must not start an app.
if (process.versions.electron) void startDesktop();
