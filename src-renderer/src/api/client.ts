// The one way the page talks to the host. In the desktop window the preload script exposes
// `window.mixcd` (IPC); in browser mode the same calls go over a WebSocket to `mixcd serve`.
// Stores see only HostClient, so they never know which one they have.
import type {
  ErrorBody,
  EventMessage,
  MethodName,
  MethodParams,
  MethodResults,
  RequestId,
  ResponseMessage,
} from '../../../shared/contract.js';
import { API_PROTOCOL, type MixcdBridge } from '../../../shared/ipc.js';

/** What src-main/preload.cts exposes as window.mixcd (one definition, in shared/ipc.ts). */
export type { MixcdBridge };

export interface HostClient {
  /** Resolves to the method's result; rejects with HostRequestError (the host's sentence). */
  request<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]>;
  /** Host events (run.queued, run.progress, ...); returns the unsubscribe function. */
  onEvent(listener: (event: EventMessage) => void): () => void;
  /** null when connected, else one sentence on what is wrong; the first call reports the current state. */
  onConnection(listener: (problem: string | null) => void): () => void;
}

declare global {
  interface Window {
    mixcd?: MixcdBridge;
  }
}

export class HostRequestError extends Error {
  readonly code: ErrorBody['code'] | 'disconnected';
  readonly field?: string;
  constructor(body: { code: ErrorBody['code'] | 'disconnected'; message: string; field?: string }) {
    super(body.message);
    this.name = 'HostRequestError';
    this.code = body.code;
    this.field = body.field;
  }
}

function unwrap<M extends MethodName>(response: ResponseMessage): MethodResults[M] {
  if (response.ok) return response.result as MethodResults[M];
  throw new HostRequestError(response.error);
}

class BridgeClient implements HostClient {
  constructor(private readonly bridge: MixcdBridge) {}

  async request<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
    return unwrap<M>(await this.bridge.request(method, params));
  }

  onEvent(listener: (event: EventMessage) => void): () => void {
    return this.bridge.onEvent(listener);
  }

  onConnection(listener: (problem: string | null) => void): () => void {
    listener(null); // IPC to our own main process is always there
    return () => {};
  }
}

const TOKEN_KEY = 'mixcd-token';

/**
 * The token arrives once in the address (?token=...). Keep it for this tab only and take it out
 * of the address bar, so it does not end up in bookmarks, screenshots or the browser history.
 */
export function takeToken(
  location: Location = window.location,
  storage: Storage = window.sessionStorage,
): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY);
}

interface Pending {
  resolve: (response: ResponseMessage) => void;
  reject: (error: Error) => void;
}

class SocketClient implements HostClient {
  private socket: WebSocket | null = null;
  private open = false;
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly outbox: string[] = [];
  private readonly eventListeners = new Set<(event: EventMessage) => void>();
  private readonly connectionListeners = new Set<(problem: string | null) => void>();
  private problem: string | null = null;
  private retryMs = 500;

  constructor(private readonly token: string | null) {
    // Without a token in this tab (a bookmark, a new tab, a one-time address) the server's session
    // cookie, sent with the socket's upgrade request, lets it in; a refusal is said in onclose.
    this.connect();
  }

  private connect(): void {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    // The token travels as a subprotocol: not in a URL that could be logged, and the server answers with
    // API_PROTOCOL only.
    const protocols = this.token === null ? [API_PROTOCOL] : [API_PROTOCOL, `token.${this.token}`];
    const socket = new WebSocket(`${scheme}://${window.location.host}/api`, protocols);
    this.socket = socket;
    socket.onopen = () => {
      this.open = true;
      this.retryMs = 500;
      for (const frame of this.outbox.splice(0)) socket.send(frame);
      this.setProblem(null);
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onclose = () => {
      const wasOpen = this.open;
      this.open = false;
      this.socket = null;
      // Requests not yet sent fail now rather than run later, after the page has reported them failed.
      this.outbox.length = 0;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(
          new HostRequestError({
            code: 'disconnected',
            message: 'The connection to the workbench server closed before it answered; try again once it is back.',
          }),
        );
      }
      this.setProblem(
        wasOpen
          ? `The connection to the workbench server at ${window.location.host} was lost; reconnecting...`
          : this.token === null
            ? 'This page has no access token and the workbench server did not let it ' +
              'in: open the full address that `mixcd serve` or `npm start` printed (it ' +
              'ends in ?token=...).'
            : `The workbench server at ${window.location.host} does not answer (it may ` +
              `have stopped, or was restarted with a new token): start it with \`mixcd ` +
              `serve\` or \`npm start\` and open the address it prints.`,
      );
      // Back off up to 10 s: the server may be restarting, or gone for good.
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }

  private receive(data: unknown): void {
    let message: unknown;
    try {
      message = JSON.parse(String(data));
    } catch {
      return; // the server only sends JSON; anything else is not ours to act on
    }
    if (typeof message !== 'object' || message === null) return;
    if ('event' in message) {
      for (const listener of this.eventListeners) listener(message as EventMessage);
      return;
    }
    const response = message as ResponseMessage;
    const waiting = response.id === null ? undefined : this.pending.get(response.id);
    if (!waiting) return;
    this.pending.delete(response.id as RequestId);
    waiting.resolve(response);
  }

  private setProblem(problem: string | null): void {
    if (problem === this.problem) return;
    this.problem = problem;
    for (const listener of this.connectionListeners) listener(problem);
  }

  async request<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
    const id = this.nextId++;
    const frame = JSON.stringify(params === undefined ? { id, method } : { id, method, params });
    const response = await new Promise<ResponseMessage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.open && this.socket) this.socket.send(frame);
      else this.outbox.push(frame); // sent when the socket (re)opens
    });
    return unwrap<M>(response);
  }

  onEvent(listener: (event: EventMessage) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onConnection(listener: (problem: string | null) => void): () => void {
    this.connectionListeners.add(listener);
    listener(this.problem);
    return () => this.connectionListeners.delete(listener);
  }
}

/** The desktop bridge when the preload provided one, else the browser-mode socket. */
export function createHostClient(): HostClient {
  return window.mixcd ? new BridgeClient(window.mixcd) : new SocketClient(takeToken());
}
