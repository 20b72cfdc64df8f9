// The host API over the page's own WebSocket, for end-to-end tests that set up runs the way a
// second client of browser mode would (token as a subprotocol, the page's Origin).
import WebSocket from 'ws';
import type { MethodName, MethodParams, MethodResults, ResponseMessage } from '../../shared/contract.js';

/** The host API over the page's own socket (token as a subprotocol, the page's Origin). */
export class Api {
  private nextId = 1;
  private readonly pending = new Map<number, (response: ResponseMessage) => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as ResponseMessage | { event: string };
      if ('event' in message || typeof message.id !== 'number') return;
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }

  static open(pageUrl: string): Promise<Api> {
    const { host, searchParams } = new URL(pageUrl);
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://${host}/api`, ['mixcd.v1', `token.${searchParams.get('token')}`], {
        origin: `http://${host}`,
      });
      socket.once('open', () => resolve(new Api(socket)));
      socket.once('error', reject);
    });
  }

  async call<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
    const id = this.nextId++;
    const response = await new Promise<ResponseMessage>((resolve) => {
      this.pending.set(id, resolve);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
    if (!response.ok) throw new Error(`${method} failed: ${response.error.message}`);
    return response.result as MethodResults[M];
  }

  close(): void {
    this.socket.close();
  }
}
