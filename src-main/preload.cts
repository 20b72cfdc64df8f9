// The desktop page's only door to the host: window.mixcd = { request, onEvent }, nothing else of
// Electron or Node. A sandboxed preload runs as a plain script that can require only 'electron',
// so `npm run build` bundles this file into one CommonJS dist/src-main/preload.cjs with the
// channel names and the bridge's type from shared/ipc.ts inlined (scripts/build-preload.mjs);
// test/unit/preloadBundle.test.ts runs that bundle against the shared constants.
import { contextBridge, ipcRenderer } from 'electron';
import type { EventMessage, RequestMessage, ResponseMessage } from '../shared/contract.js';
import { EVENT_CHANNEL, REQUEST_CHANNEL, type MixcdBridge } from '../shared/ipc.js';

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
