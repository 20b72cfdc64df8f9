// The desktop window's security settings, as pure values and functions so tests can check them
// without an Electron binary. The page is our own built renderer, but it shows user data (run
// names, tags, file paths), so it gets no Node, no navigation, no popups and a strict CSP.
import type { BrowserWindowConstructorOptions, Event, HandlerDetails, WindowOpenHandlerResponse } from 'electron';

/**
 * The CSP of the desktop page: our own files only, and no network at all (IPC needs none). One
 * policy for the header (onHeadersReceived) and the page's <meta> (in force where no header
 * arrives, as for file:// pages); the meta leaves out frame-ancestors only because browsers ignore
 * that directive in a <meta> (and say so on the console).
 */
export const DESKTOP_CSP_META = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
export const DESKTOP_CSP = `${DESKTOP_CSP_META}; frame-ancestors 'none'`;

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 500,
    title: 'mix-cd workbench',
    show: false, // shown on ready-to-show: no white flash
    backgroundColor: '#f6f7f9',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** will-navigate: the page never leaves index.html (a dropped file or a link would replace the app). */
export function blockNavigation(event: Pick<Event, 'preventDefault'>): void {
  event.preventDefault();
}

/** setWindowOpenHandler: no new windows, whatever the page asks. */
export function denyNewWindow(_details?: HandlerDetails): WindowOpenHandlerResponse {
  return { action: 'deny' };
}

/** The parts of webContents that hardenWebContents touches (a mock in tests). */
export interface HardenableContents {
  on(
    event: 'will-navigate' | 'will-redirect' | 'will-attach-webview',
    listener: (event: Pick<Event, 'preventDefault'>) => void,
  ): unknown;
  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void;
}

export function hardenWebContents(contents: HardenableContents): void {
  contents.on('will-navigate', blockNavigation);
  contents.on('will-redirect', blockNavigation);
  contents.on('will-attach-webview', blockNavigation);
  contents.setWindowOpenHandler(denyNewWindow);
}

/** onHeadersReceived: our file:// pages get the CSP header (the page's <meta> says the same). */
export function withDesktopCsp(
  url: string,
  rendererDirUrl: string,
  headers: Record<string, string[]> | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = { ...(headers ?? {}) };
  if (url.startsWith(rendererDirUrl)) {
    for (const key of Object.keys(out)) if (key.toLowerCase() === 'content-security-policy') delete out[key];
    out['Content-Security-Policy'] = [DESKTOP_CSP];
  }
  return out;
}

/** The page needs no camera, notifications, clipboard reads, ...: every permission is refused. */
export function denyPermission(_webContents: unknown, _permission: string, callback: (granted: boolean) => void): void {
  callback(false);
}

/**
 * setPermissionCheckHandler: the synchronous "is this granted?" queries (navigator.permissions,
 * some APIs before they ask) get the same answer as requests: no.
 */
export function checkPermission(): boolean {
  return false;
}

/** The parts of Electron's session that secureSession sets (a mock in tests). */
export interface SecurableSession {
  setPermissionRequestHandler(handler: typeof denyPermission): void;
  setPermissionCheckHandler(handler: typeof checkPermission): void;
  webRequest: {
    onHeadersReceived(
      listener: (
        details: { url: string; responseHeaders?: Record<string, string[]> },
        callback: (response: { responseHeaders: Record<string, string[]> }) => void,
      ) => void,
    ): void;
  };
}

/** Every permission refused, asked (request handler) or checked (check handler); CSP on our pages. */
export function secureSession(session: SecurableSession, rendererDirUrl: string): void {
  session.setPermissionRequestHandler(denyPermission);
  session.setPermissionCheckHandler(checkPermission);
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withDesktopCsp(details.url, rendererDirUrl, details.responseHeaders) });
  });
}
