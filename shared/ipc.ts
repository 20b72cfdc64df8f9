// The desktop page's door to the host, shared by both sides of Electron's IPC: the preload
// (src-main/preload.ts, bundled into one CommonJS file with this module inlined, see
// scripts/build-preload.mjs), the shell's guard (src-main/desktop/ipcGuard.ts) and the page
// (src-renderer/src/api/client.ts). Nothing here may import at run time: the sandboxed preload
// can require only 'electron'.
import type { EventMessage, MethodName, ResponseMessage } from './contract.js';

/** ipcRenderer.invoke -> ipcMain.handle: one request envelope, one response envelope. */
export const REQUEST_CHANNEL = 'mixcd:request';
/** webContents.send -> ipcRenderer.on: host events pushed to the page. */
export const EVENT_CHANNEL = 'mixcd:event';

/** What the page sees as window.mixcd, and nothing else of Electron or Node. */
export interface MixcdBridge {
  request(method: MethodName, params?: unknown): Promise<ResponseMessage>;
  onEvent(listener: (event: EventMessage) => void): () => void;
}

/** The WebSocket subprotocol of the browser mode's API (src-main/server/browserServer.ts). */
export const API_PROTOCOL = 'mixcd.v1';
