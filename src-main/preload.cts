// The desktop page's only door to the host: window.mixcd = { request, onEvent }, nothing else of
// Electron or Node. CommonJS (.cts) because a sandboxed preload runs as a plain script, where
// import statements are a syntax error; for the same reason it requires nothing but 'electron'
// (so the channel names are repeated here from src-main/desktop/ipcGuard.ts).
import { contextBridge, ipcRenderer } from 'electron';
import type { EventMessage, MethodName, RequestMessage, ResponseMessage } from '../shared/contract.js';

const REQUEST_CHANNEL = 'mixcd:request';
const EVENT_CHANNEL = 'mixcd:event';

/** What the page sees as window.mixcd (src-renderer/src/api/client.ts declares the same). */
export interface MixcdBridge {
  request(method: MethodName, params?: unknown): Promise<ResponseMessage>;
  onEvent(listener: (event: EventMessage) => void): () => void;
}

let nextId = 1;

const bridge: MixcdBridge = {
  request(method, params) {
    const message: RequestMessage = params === undefined ? { id: nextId++, method } : { id: nextId++, method, params };
    return ipcRenderer.invoke(REQUEST_CHANNEL, message) as Promise<ResponseMessage>;
  },
  onEvent(listener) {
    // The page gets the message only, never Electron's event object (it holds the sender).
    const forward = (_event: unknown, message: EventMessage) => listener(message);
    ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, forward);
  },
};

contextBridge.exposeInMainWorld('mixcd', bridge);
