// The shipped preload and the shared contract cannot disagree: the preload is bundled from
// src-main/preload.cts (as `npm run build` does) and run as Electron runs a sandboxed preload,
// a plain script whose only require is 'electron'; what it exposes and the channels it uses are
// checked against shared/ipc.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../shared/contract.js';
import { EVENT_CHANNEL, REQUEST_CHANNEL, type MixcdBridge } from '../../shared/ipc.js';
// @ts-expect-error: a plain .mjs build script, no type declarations
import { buildPreload } from '../../scripts/build-preload.mjs';

/** Every member of MixcdBridge: adding one to the type without the preload fails typecheck here. */
const BRIDGE_MEMBERS: Record<keyof MixcdBridge, true> = { request: true, onEvent: true };

const out = mkdtempSync(path.join(tmpdir(), 'mixcd-preload-'));
let source = '';

beforeAll(async () => {
  const file = (await buildPreload(out)) as string;
  source = readFileSync(file, 'utf8');
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runPreload() {
  const required: string[] = [];
  const exposed = new Map<string, MixcdBridge>();
  const invoked: [string, unknown][] = [];
  const listeners = new Map<string, ((event: unknown, message: unknown) => void)[]>();
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, api: MixcdBridge) => exposed.set(name, api) },
    ipcRenderer: {
      invoke: (channel: string, message: unknown) => (invoked.push([channel, message]), Promise.resolve({ ok: true })),
      on: (channel: string, fn: (event: unknown, message: unknown) => void) =>
        listeners.set(channel, [...(listeners.get(channel) ?? []), fn]),
      removeListener: (channel: string, fn: unknown) =>
        listeners.set(
          channel,
          (listeners.get(channel) ?? []).filter((f) => f !== fn),
        ),
    },
  };
  const require = (name: string) => {
    required.push(name);
    if (name !== 'electron') throw new Error(`a sandboxed preload cannot require "${name}"`);
    return electron;
  };
  // A fresh context: no Node globals (module, exports, process) unless the bundle brings them.
  vm.runInNewContext(source, { require });
  return { required, exposed, invoked, listeners };
}

describe('the bundled preload', () => {
  it('requires only electron and exposes exactly the MixcdBridge members as window.mixcd', () => {
    const { required, exposed } = runPreload();
    expect(required).toEqual(['electron']);
    expect([...exposed.keys()]).toEqual(['mixcd']);
    expect(Object.keys(exposed.get('mixcd')!).sort()).toEqual(Object.keys(BRIDGE_MEMBERS).sort());
  });

  it('sends requests on the shared request channel, numbered, params only when given', async () => {
    const { exposed, invoked } = runPreload();
    const bridge = exposed.get('mixcd')!;
    await bridge.request('runs.list');
    await bridge.request('runs.get', { id: 3 });
    expect(invoked).toEqual([
      [REQUEST_CHANNEL, { id: 1, method: 'runs.list' }],
      [REQUEST_CHANNEL, { id: 2, method: 'runs.get', params: { id: 3 } }],
    ]);
  });

  it('listens on the shared event channel, hands over the message only, and unsubscribes', () => {
    const { exposed, listeners } = runPreload();
    const got: EventMessage[] = [];
    const off = exposed.get('mixcd')!.onEvent((message) => got.push(message));
    expect([...listeners.keys()]).toEqual([EVENT_CHANNEL]);
    const message = { event: 'run.queued', data: {} } as unknown as EventMessage;
    listeners.get(EVENT_CHANNEL)![0]({ sender: 'secret' }, message);
    expect(got).toEqual([message]);
    off();
    expect(listeners.get(EVENT_CHANNEL)).toEqual([]);
  });
});
