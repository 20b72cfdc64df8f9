// The desktop shell's security rules with Electron mocked (its binary cannot run in CI): the
// window's options, navigation and popups denied, IPC only from our page's top frame and only
// as a request envelope, host events forwarded, trainers in utility processes.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const electron = vi.hoisted(() => {
  const windows: any[] = [];
  const handlers = new Map<string, (...args: any[]) => unknown>();
  const forks: any[] = [];
  return { windows, handlers, forks };
});

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events');
  class FakeContents extends EventEmitter {
    windowOpenHandler: ((details: unknown) => unknown) | null = null;
    sent: [string, unknown][] = [];
    setWindowOpenHandler(handler: (details: unknown) => unknown) {
      this.windowOpenHandler = handler;
    }
    send(channel: string, message: unknown) {
      this.sent.push([channel, message]);
    }
  }
  class BrowserWindow extends EventEmitter {
    static getAllWindows = () => electron.windows;
    webContents = new FakeContents();
    loaded: string | null = null;
    constructor(readonly options: unknown) {
      super();
      electron.windows.push(this);
    }
    loadURL(url: string) {
      this.loaded = url;
      return Promise.resolve();
    }
    isDestroyed() {
      return false;
    }
    show() {}
  }
  class FakeUtility extends EventEmitter {
    pid: number | undefined = undefined;
    posted: unknown[] = [];
    killed = 0;
    stderr = null;
    constructor(
      readonly entry: string,
      readonly options: unknown,
    ) {
      super();
    }
    postMessage(message: unknown) {
      this.posted.push(message);
    }
    kill() {
      this.killed++;
      return true;
    }
  }
  return {
    app: {
      on: vi.fn(),
      whenReady: vi.fn(),
      quit: vi.fn(),
      enableSandbox: vi.fn(),
      requestSingleInstanceLock: vi.fn(() => true),
    },
    BrowserWindow,
    dialog: { showErrorBox: vi.fn() },
    ipcMain: {
      handle: (channel: string, handler: (...args: any[]) => unknown) => electron.handlers.set(channel, handler),
      removeHandler: (channel: string) => electron.handlers.delete(channel),
    },
    session: { defaultSession: { webRequest: { onHeadersReceived: vi.fn() }, setPermissionRequestHandler: vi.fn() } },
    utilityProcess: {
      fork: (entry: string, _args: string[], options: unknown) => {
        const child = new FakeUtility(entry, options);
        electron.forks.push(child);
        return child;
      },
    },
  };
});

const { windowOptions, hardenWebContents, denyNewWindow, withDesktopCsp, DESKTOP_CSP, denyPermission } =
  await import('../../src-main/desktop/windowOptions.js');
const { checkRequest, isRendererFrame, REQUEST_CHANNEL, EVENT_CHANNEL } =
  await import('../../src-main/desktop/ipcGuard.js');
const shell = await import('../../src-main/main.js');

const page = shell.rendererIndexUrl;
const topFrame = { url: page, parent: null };

function fakeHost() {
  const listeners = new Set<(e: any) => void>();
  return {
    handle: vi.fn(async (raw: any) => ({ id: raw.id, ok: true as const, result: 'handled' })),
    subscribe: (listener: (e: any) => void) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit: (e: any) => listeners.forEach((l) => l(e)),
  };
}

beforeEach(() => {
  electron.windows.length = 0;
  electron.handlers.clear();
  electron.forks.length = 0;
});

describe('window options', () => {
  it('isolates the page: no Node, sandboxed, context isolation, web security on', () => {
    const options = windowOptions('/app/preload.cjs');
    expect(options.webPreferences).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('the main window gets those options, the preload beside main.js, and our page', () => {
    const window = shell.createMainWindow() as any;
    expect(window.options.webPreferences.preload).toMatch(/src-main[/\\]preload\.cjs$/);
    expect(window.options.webPreferences.sandbox).toBe(true);
    expect(window.loaded).toBe(page);
    expect(page).toBe(pathToFileURL(path.resolve(__dirname, '../../dist/renderer/index.html')).href);
  });

  it('denies navigation, redirects, webviews and new windows', () => {
    const window = shell.createMainWindow() as any;
    for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const event = { preventDefault: vi.fn() };
      window.webContents.emit(name, event, 'https://evil.example/');
      expect(event.preventDefault, name).toHaveBeenCalled();
    }
    expect(window.webContents.windowOpenHandler({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(denyNewWindow()).toEqual({ action: 'deny' });

    const contents = Object.assign(new EventEmitter(), { setWindowOpenHandler: vi.fn() });
    hardenWebContents(contents as any);
    expect(contents.setWindowOpenHandler).toHaveBeenCalledWith(denyNewWindow);
  });

  it('adds the CSP header to our file:// pages only, and refuses every permission', () => {
    const dir = page.replace(/index\.html$/, '');
    expect(withDesktopCsp(page, dir, { 'content-security-policy': ['default-src *'] })).toEqual({
      'Content-Security-Policy': [DESKTOP_CSP],
    });
    expect(withDesktopCsp('https://example.org/', dir, { a: ['b'] })).toEqual({ a: ['b'] });
    expect(DESKTOP_CSP).toContain("script-src 'self'");
    expect(DESKTOP_CSP).not.toContain('unsafe');
    const granted = vi.fn();
    denyPermission(null, 'media', granted);
    expect(granted).toHaveBeenCalledWith(false);
  });
});

describe('IPC guard', () => {
  it('accepts our top frame only', () => {
    expect(isRendererFrame(topFrame, page)).toBe(true);
    expect(isRendererFrame({ url: `${page}#/runs`, parent: null }, page)).toBe(true);
    expect(isRendererFrame({ url: 'https://evil.example/', parent: null }, page)).toBe(false);
    expect(isRendererFrame({ url: 'file:///tmp/other.html', parent: null }, page)).toBe(false);
    expect(isRendererFrame({ url: page, parent: {} }, page)).toBe(false); // an iframe in our page
    expect(isRendererFrame(null, page)).toBe(false); // frame already gone
  });

  it('rejects foreign frames and malformed envelopes without reaching the host', async () => {
    const host = fakeHost();
    shell.connectHost(host as any);
    const handler = electron.handlers.get(REQUEST_CHANNEL)!;
    expect(handler).toBeTypeOf('function');

    const foreign = await handler(
      { senderFrame: { url: 'https://evil.example/', parent: null } },
      { id: 1, method: 'runs.list' },
    );
    expect(foreign).toMatchObject({ ok: false, error: { code: 'invalid-request', field: 'sender' } });
    const sub = await handler({ senderFrame: { url: page, parent: { url: page } } }, { id: 1, method: 'runs.list' });
    expect(sub).toMatchObject({ ok: false, error: { field: 'sender' } });

    for (const bad of [
      null,
      'runs.list',
      [],
      { method: 'runs.list' },
      { id: {}, method: 'runs.list' },
      { id: 2, method: 42 },
      { id: 3 },
    ]) {
      const reply = await handler({ senderFrame: topFrame }, bad);
      expect(reply, JSON.stringify(bad)).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
    }
    expect(host.handle).not.toHaveBeenCalled();
    expect(checkRequest(topFrame, { id: 2, method: 42 }, page)).toMatchObject({
      ok: false,
      response: { id: 2, error: { field: 'method' } },
    });

    const ok = await handler({ senderFrame: topFrame }, { id: 4, method: 'runs.list', params: {} });
    expect(ok).toEqual({ id: 4, ok: true, result: 'handled' });
    expect(host.handle).toHaveBeenCalledWith({ id: 4, method: 'runs.list', params: {} });
  });

  it('forwards host events to the windows on the event channel', () => {
    const host = fakeHost();
    const window = shell.createMainWindow() as any;
    const disconnect = shell.connectHost(host as any);
    const event = { event: 'run.cancelled', data: { runId: 3 } };
    host.emit(event);
    expect(window.webContents.sent).toEqual([[EVENT_CHANNEL, event]]);
    disconnect();
    host.emit(event);
    expect(window.webContents.sent).toHaveLength(1);
    expect(electron.handlers.has(REQUEST_CHANNEL)).toBe(false);
  });
});

describe('trainers in utility processes', () => {
  it('forks the entry, holds messages until the process is up, and reports its exit', () => {
    const handle = shell.utilityTrainer('/app/dist/src-main/trainer/main.js');
    const child = electron.forks[0];
    expect(child.entry).toBe('/app/dist/src-main/trainer/main.js');
    const start = { type: 'start', runId: 1, config: {}, cacheDir: '/c' } as any;
    handle.send(start);
    expect(child.posted).toEqual([]);
    child.pid = 4242;
    child.emit('spawn');
    expect(child.posted).toEqual([start]);
    expect(handle.pid).toBe(4242);

    const messages: unknown[] = [];
    handle.onMessage((m) => messages.push(m));
    child.emit('message', { type: 'progress', runId: 1 });
    expect(messages).toEqual([{ type: 'progress', runId: 1 }]);

    handle.kill('SIGTERM');
    expect(child.killed).toBe(1);
    const exits: unknown[] = [];
    handle.onExit((code, signal) => exits.push([code, signal]));
    child.emit('exit', 0);
    expect(exits).toEqual([[0, null]]);
  });
});

const { DESKTOP_CSP_META, checkPermission, secureSession } = await import('../../src-main/desktop/windowOptions.js');

describe('desktop CSP, permission checks and fuses (issue 11, broken 12)', () => {
  it('the page <meta> and the header are one policy (the meta leaves out only frame-ancestors)', async () => {
    const { readFileSync, existsSync } = await import('node:fs');
    const metaOf = (html: string) =>
      /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html)?.[1] ?? null;
    const source = readFileSync(path.resolve(__dirname, '../../src-renderer/index.html'), 'utf8');
    expect(metaOf(source)).toBe(DESKTOP_CSP_META);
    expect(DESKTOP_CSP).toBe(`${DESKTOP_CSP_META}; frame-ancestors 'none'`);
    // The desktop page talks over IPC only: no sockets, no fetches.
    expect(DESKTOP_CSP_META).toContain("connect-src 'none'");
    const built = path.resolve(__dirname, '../../dist/renderer/index.html');
    if (existsSync(built)) expect(metaOf(readFileSync(built, 'utf8'))).toBe(DESKTOP_CSP_META);
    else console.warn('electronShell: dist/renderer is not built; only the source index.html was checked');
  });

  it('browser mode serves the same page with its own header policy in the <meta>', async () => {
    const { contentSecurityPolicy, metaContentSecurityPolicy, withMetaPolicy } =
      await import('../../src-main/server/browserServer.js');
    const html = `<meta http-equiv="Content-Security-Policy" content="${DESKTOP_CSP_META}" />`;
    expect(withMetaPolicy(html, 4321)).toBe(
      `<meta http-equiv="Content-Security-Policy" content="${metaContentSecurityPolicy(4321)}" />`,
    );
    expect(`${metaContentSecurityPolicy(4321)}; frame-ancestors 'none'`).toBe(contentSecurityPolicy(4321));
    expect(metaContentSecurityPolicy(4321)).toContain("connect-src 'self' ws://127.0.0.1:4321 ws://localhost:4321");
  });

  it('sets a permission check handler beside the request handler, both refusing', () => {
    const session = {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      webRequest: { onHeadersReceived: vi.fn() },
    };
    secureSession(session, 'file:///app/');
    expect(session.setPermissionRequestHandler).toHaveBeenCalledWith(denyPermission);
    expect(session.setPermissionCheckHandler).toHaveBeenCalledWith(checkPermission);
    expect(checkPermission()).toBe(false);
    const listener = session.webRequest.onHeadersReceived.mock.calls[0][0];
    const callback = vi.fn();
    listener({ url: 'file:///app/index.html', responseHeaders: {} }, callback);
    expect(callback).toHaveBeenCalledWith({ responseHeaders: { 'Content-Security-Policy': [DESKTOP_CSP] } });
  });

  it('the packaged app has no RunAsNode, no NODE_OPTIONS, no inspect arguments, and asar integrity', async () => {
    const { FuseV1Options } = await import('@electron/fuses');
    // @ts-expect-error a plain .mjs script without types
    const hook = await import('../../scripts/after-pack.mjs');
    expect(hook.FUSES).toMatchObject({
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
    });
    const flip = vi.fn(async () => {});
    const context = {
      appOutDir: '/out/linux-unpacked',
      electronPlatformName: 'linux',
      packager: { appInfo: { productFilename: 'mix-cd workbench' }, executableName: 'mixcd-workbench' },
    };
    await hook.default(context, flip);
    expect(flip).toHaveBeenCalledWith('/out/linux-unpacked/mixcd-workbench', {
      ...hook.FUSES,
      resetAdHocDarwinSignature: false,
    });
    const builder = (await import('node:fs')).readFileSync(
      path.resolve(__dirname, '../../electron-builder.yml'),
      'utf8',
    );
    expect(builder).toMatch(/^afterPack: scripts\/after-pack\.mjs$/m);
  });
});
