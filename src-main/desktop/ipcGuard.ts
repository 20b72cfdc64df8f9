// What the desktop shell checks before a renderer message reaches the host: that it comes from
// our own page's top frame (not an iframe or a page the window was somehow navigated to), and
// that it is a request envelope. The host validates the method and its params itself.
import { fileURLToPath } from 'node:url';
import { requestMessageSchema, type RequestMessage, type ResponseMessage } from '../../shared/contract.js';

export { REQUEST_CHANNEL, EVENT_CHANNEL } from '../../shared/ipc.js';

/** The parts of Electron's WebFrameMain the guard reads. */
export interface SenderFrame {
  url: string;
  parent: unknown;
}

/** The file our page is, as a path (query and hash do not change which page it is). */
function pagePath(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'file:' ? fileURLToPath(parsed) : null;
  } catch {
    return null;
  }
}

/** True only for the top frame showing our index.html. */
export function isRendererFrame(frame: SenderFrame | null | undefined, rendererIndexUrl: string): boolean {
  if (!frame || frame.parent !== null) return false;
  const ours = pagePath(rendererIndexUrl);
  return ours !== null && pagePath(frame.url) === ours;
}

export type GuardResult = { ok: true; request: RequestMessage } | { ok: false; response: ResponseMessage };

export function checkRequest(
  frame: SenderFrame | null | undefined,
  raw: unknown,
  rendererIndexUrl: string,
): GuardResult {
  if (!isRendererFrame(frame, rendererIndexUrl)) {
    return {
      ok: false,
      response: {
        id: null,
        ok: false,
        error: {
          code: 'invalid-request',
          message: 'Requests are accepted only from the workbench page itself.',
          field: 'sender',
        },
      },
    };
  }
  const parsed = requestMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const id =
      typeof raw === 'object' &&
      raw !== null &&
      (typeof (raw as { id?: unknown }).id === 'number' || typeof (raw as { id?: unknown }).id === 'string')
        ? (raw as { id: number | string }).id
        : null;
    const field = String(parsed.error.issues[0]?.path[0] ?? 'request');
    return {
      ok: false,
      response: {
        id,
        ok: false,
        error: {
          code: 'invalid-request',
          message:
            `A request must be { id, method, params? } with a number or string id and ` +
            `a method name; "${field}" is not.`,
          field,
        },
      },
    };
  }
  return { ok: true, request: parsed.data };
}

/** The ipcMain.handle listener for REQUEST_CHANNEL. */
export function createRequestHandler(
  host: { handle(raw: unknown): Promise<ResponseMessage> },
  rendererIndexUrl: string,
) {
  return async (event: { senderFrame: SenderFrame | null }, raw: unknown): Promise<ResponseMessage> => {
    const checked = checkRequest(event.senderFrame, raw, rendererIndexUrl);
    return checked.ok ? host.handle(checked.request) : checked.response;
  };
}
