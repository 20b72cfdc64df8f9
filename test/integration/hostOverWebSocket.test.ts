// The host contract end to end as a browser page speaks it: `mixcd serve` (serveCommand) with the
// real host (real trainer processes from dist/, a history file and an f0 cache of its own) behind
// the real browser server, driven by a `ws` client over /api on small generated IDX data. Every
// frame the server sends must be a contract envelope (a response or an event).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunConfigInput } from '../../shared/config.js';
import {
  EVENT_NAMES,
  eventMessageSchema,
  responseMessageSchema,
  type EventMessage,
  type EventName,
  type HostEvents,
  type MethodName,
  type MethodParams,
  type MethodResults,
  type ResponseMessage,
} from '../../shared/contract.js';
import { serveCommand } from '../../src-main/cli/serve.js';
import { createHost } from '../../src-main/host/host.js';
import { API_PROTOCOL } from '../../src-main/server/browserServer.js';
import { writeIdxData } from '../helpers/idxData.js';
import { processGone, tinyRunConfig } from '../helpers/trainerRuns.js';

const root = path.resolve(__dirname, '../..');
const trainerEntry = path.join(root, 'dist/src-main/trainer/main.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-ws-'));
const dataDir = path.join(work, 'data');
const rendererDir = path.join(work, 'renderer');

function config(steps: number): RunConfigInput {
  return tinyRunConfig(dataDir, steps);
}

const gone = processGone;

/** Resolves to the open socket, or to the HTTP status the upgrade was refused with. */
function openSocket(
  url: string,
  protocols: string[],
  headers: Record<string, string> = {},
): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    socket.once('error', reject);
  });
}

/** A client speaking the envelope: requests by id, events logged and waitable. */
class ApiClient {
  readonly events: EventMessage[] = [];
  /** Frames that were neither a response nor a known event (must stay empty). */
  readonly violations: string[] = [];
  private readonly pending = new Map<string | number, (response: ResponseMessage) => void>();
  /** Answers with id null (the frame had no usable id), in arrival order. */
  private readonly anonymous: ((response: ResponseMessage) => void)[] = [];
  private readonly waiters: { match: (e: EventMessage) => boolean; resolve: (e: EventMessage) => void }[] = [];
  private nextId = 1;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => this.receive(String(data), isBinary));
  }

  /** As a page of this server would connect: token as a subprotocol, our own Origin. */
  static async open(port: number, token: string): Promise<ApiClient> {
    const socket = await openSocket(`ws://127.0.0.1:${port}/api`, [API_PROTOCOL, `token.${token}`], {
      origin: `http://127.0.0.1:${port}`,
    });
    if (typeof socket === 'number') throw new Error(`the authorised socket was refused with ${socket}`);
    return new ApiClient(socket);
  }

  private receive(text: string, isBinary: boolean): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return void this.violations.push(`not JSON: ${text.slice(0, 80)}`);
    }
    if (isBinary) this.violations.push('a binary frame');
    if (typeof message === 'object' && message !== null && 'event' in message) {
      const event = eventMessageSchema.safeParse(message);
      if (!event.success || !EVENT_NAMES.includes(event.data.event as EventName))
        return void this.violations.push(`bad event: ${text.slice(0, 80)}`);
      const typed = message as EventMessage;
      this.events.push(typed);
      for (const w of this.waiters.filter((w) => w.match(typed))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(typed);
      }
      return;
    }
    const response = responseMessageSchema.safeParse(message);
    if (!response.success) return void this.violations.push(`neither response nor event: ${text.slice(0, 80)}`);
    const answer = response.data as ResponseMessage;
    const resolve = answer.id === null ? this.anonymous.shift() : this.pending.get(answer.id);
    if (!resolve) return void this.violations.push(`an answer nobody asked for: ${text.slice(0, 80)}`);
    if (answer.id !== null) this.pending.delete(answer.id);
    resolve(answer);
  }

  /** Sends any frame (a raw string as it is) and resolves to its answer. */
  send(frame: unknown, timeoutMs = 10_000): Promise<ResponseMessage> {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    const id = typeof frame === 'object' && frame !== null ? (frame as { id?: unknown }).id : undefined;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to ${text.slice(0, 80)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const done = (response: ResponseMessage) => (clearTimeout(timer), resolve(response));
      if (typeof id === 'number' || typeof id === 'string') this.pending.set(id, done);
      else this.anonymous.push(done);
      this.socket.send(text);
    });
  }

  /** A request that must succeed. */
  async call<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
    const response = await this.send({ id: this.nextId++, method, params });
    if (!response.ok) throw new Error(`${method} failed: ${JSON.stringify(response.error)}`);
    return response.result as MethodResults[M];
  }

  /** The first event of this name for this run (already received or still to come) that matches `also`. */
  event<E extends EventName>(
    name: E,
    runId: number,
    also: (data: HostEvents[E]) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<HostEvents[E]> {
    const match = (e: EventMessage) =>
      e.event === name && (e.data as { runId?: number }).runId === runId && also(e.data as HostEvents[E]);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen.data as HostEvents[E]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${name} for run ${runId} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e.data as HostEvents[E])) });
    });
  }

  of(runId: number): EventMessage[] {
    return this.events.filter((e) => (e.data as { runId?: number }).runId === runId);
  }
}

let port = 0;
let token = '';
let client: ApiClient;
let watcher: ApiClient;
const stop = new AbortController();
let served: Promise<number>;

beforeAll(async () => {
  if (!existsSync(trainerEntry))
    throw new Error(
      `The trainer is not built (${trainerEntry} is missing): run npm run build first (npm test does it).`,
    );
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
  // The page itself is not under test here; serveCommand only needs one to exist.
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  const lines: string[] = [];
  served = serveCommand({
    rendererDir,
    db: path.join(work, 'history.db'),
    signal: stop.signal,
    out: (line) => lines.push(line),
    // The real host, with a cache of this test's own (not MIXCD_CACHE_DIR) and the built trainer.
    openHost: ({ historyFile }) => createHost({ historyFile, cacheDir: path.join(work, 'f0-cache'), trainerEntry }),
  });
  const deadline = Date.now() + 10_000;
  while (lines.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const match = /^mix-cd workbench: http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]+)$/.exec(lines[0] ?? '');
  if (!match) throw new Error(`serveCommand printed no URL line: ${JSON.stringify(lines)}`);
  port = Number(match[1]);
  token = match[2];
  client = await ApiClient.open(port, token);
  // A second page: every event goes to every authorised socket.
  watcher = await ApiClient.open(port, token);
});

afterAll(async () => {
  client?.socket.terminate();
  watcher?.socket.terminate();
  stop.abort();
  // Stopping closes the server, then the host (cancelling any trainer still running).
  if (served) expect(await served).toBe(0);
  rmSync(work, { recursive: true, force: true });
});

describe('the host contract over WebSocket', () => {
  let first = 0;
  let second = 0;

  it('starts a run and streams its progress and eval events, then serves it from the history', async () => {
    const t0 = performance.now();
    const { runId } = await client.call('runs.start', { config: config(60) });
    first = runId;
    const finished = await client.event('run.finished', runId);
    const names = client.of(runId).map((e) => e.event);
    expect(names[0]).toBe('run.queued');
    expect(names.at(-1)).toBe('run.finished');
    expect(names.filter((n) => n === 'run.started')).toHaveLength(1);
    const started = names.indexOf('run.started');
    const progress = client
      .of(runId)
      .filter((e) => e.event === 'run.progress')
      .map((e) => e.data as HostEvents['run.progress']);
    expect(progress.map((p) => p.phase)).toEqual(
      expect.arrayContaining(['loading-data', 'pretraining', 'prior-pass', 'finetuning']),
    );
    expect(progress.at(-1)).toMatchObject({ runId, phase: 'finetuning', step: 60, totalSteps: 60 });
    const evals = client
      .of(runId)
      .filter((e) => e.event === 'run.eval')
      .map((e) => e.data as HostEvents['run.eval']);
    expect(evals.map((e) => e.point.step)).toEqual([0, 20, 40, 60]);
    expect(names.indexOf('run.eval')).toBeGreaterThan(started);
    expect(evals[1].trace?.size.length).toBeGreaterThan(1); // mix-cd's bin trace rides along
    expect(finished.summary).toMatchObject({ id: runId, status: 'finished', backend: 'wasm' });

    const run = await client.call('runs.get', { id: runId });
    expect(run.status).toBe('finished');
    expect(run.series).toEqual(evals.map((e) => e.point));
    // The other socket saw the same events in the same order.
    await watcher.event('run.finished', runId);
    expect(watcher.of(runId)).toEqual(client.of(runId));
    console.log(
      `run ${runId}: ${names.length} events over WebSocket, finished ${(performance.now() - t0).toFixed(0)} ` +
        `ms after runs.start`,
    );
  });

  it('cancels a second run mid-way: its trainer process is gone within 1 s', async () => {
    const { runId } = await client.call('runs.start', { config: config(5000) });
    second = runId;
    await client.event('run.eval', runId, (d) => d.point.step >= 100);
    const status = await client.call('host.status');
    expect(status.running).toEqual([runId]);
    const pid = status.trainers.find((t) => t.runId === runId)?.pid;
    expect(pid).toBeTypeOf('number');
    expect(gone(pid!)).toBe(false);

    const t0 = performance.now();
    expect(await client.call('runs.cancel', { id: runId })).toEqual({ id: runId, status: 'cancelled' });
    while (!gone(pid!) && performance.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 5));
    const goneMs = performance.now() - t0;
    expect(gone(pid!)).toBe(true);
    expect(goneMs).toBeLessThan(1000);
    await client.event('run.cancelled', runId, () => true, 1000);
    const run = await client.call('runs.get', { id: runId });
    expect(run.status).toBe('cancelled');
    expect(run.series.length).toBeGreaterThanOrEqual(2); // what it did before the cancel is kept
    console.log(`cancel: trainer ${pid} gone ${goneMs.toFixed(0)} ms after runs.cancel was sent`);
  });

  it('kill -9 of a third run’s trainer: the run is stored as failed and the host still answers', async () => {
    const { runId } = await client.call('runs.start', { config: config(5000) });
    await client.event('run.eval', runId, (d) => d.point.step >= 100);
    const pid = (await client.call('host.status')).trainers.find((t) => t.runId === runId)?.pid;
    expect(pid).toBeTypeOf('number');
    process.kill(pid!, 'SIGKILL');
    expect(await client.event('run.failed', runId)).toMatchObject({ runId, exitCode: null, signal: 'SIGKILL' });
    expect(gone(pid!)).toBe(true);

    const run = await client.call('runs.get', { id: runId });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/SIGKILL/);
    expect(await client.call('host.status')).toMatchObject({ running: [], queued: [], queueLength: 0, trainers: [] });
    const listed = await client.call('runs.list', {});
    expect(listed.map((r) => [r.id, r.status])).toEqual([
      [runId, 'failed'],
      [second, 'cancelled'],
      [first, 'finished'],
    ]);
    expect((await client.call('catalog.get')).strategies.map((s) => s.name)).toContain('mix-cd');
  });

  it('answers malformed messages with invalid-request naming the field, and keeps answering', async () => {
    const bad = async (
      frame: unknown,
      field: string | undefined,
      message: RegExp,
      id: unknown = (frame as { id?: unknown })?.id ?? null,
    ) => {
      const response = await client.send(frame);
      expect(response).toMatchObject({ id, ok: false, error: { code: 'invalid-request' } });
      if (!response.ok) {
        expect(response.error.field).toBe(field);
        expect(response.error.message).toMatch(message);
      }
    };
    // Frames the server cannot even read as a request: the whole request is what is wrong.
    await bad('{"id": 1, "method": ', 'request', /not JSON/);
    // Envelopes and params the contract refuses: the field is named (as a path into params).
    await bad('"hello"', 'request', /must be an object/);
    await bad({ method: 'runs.list' }, 'id', /"id" is missing/);
    await bad({ id: 'm1' }, 'method', /"method" is missing/);
    await bad({ id: 'm2', method: 'runs.destroy' }, 'method', /Unknown method "runs\.destroy"/);
    await bad({ id: 'm3', method: 'runs.get', params: { id: 'x' } }, 'id', /"id" has value "x".*expected number/);
    await bad({ id: 'm4', method: 'runs.get', params: { id: 1, extra: true } }, 'extra', /no parameter "extra"/);
    await bad(
      { id: 'm5', method: 'runs.list', params: { filter: { limit: 0 } } },
      'filter.limit',
      /"filter\.limit" has value 0/,
    );
    await bad(
      { id: 'm6', method: 'runs.start', params: { config: { rehearsal: { budget: 11 } } } },
      'config.rehearsal.budget',
      /"rehearsal\.budget" has value 11/,
    );
    await bad(
      { id: 'm7', method: 'studies.start', params: { base: {}, strategies: ['nope'], budgets: [0.1], seeds: [1] } },
      'strategies.0',
      /"nope"/,
    );
    // Nothing was queued by any of them, and the same socket still gets answers.
    expect((await client.call('runs.list', {})).length).toBe(3);
  });

  it('refuses sockets without the token, with a wrong one, from a foreign Origin or to a foreign Host', async () => {
    const url = `ws://127.0.0.1:${port}/api`;
    const ours = { origin: `http://127.0.0.1:${port}` };
    const withToken = [API_PROTOCOL, `token.${token}`];
    expect(await openSocket(url, [API_PROTOCOL], ours)).toBe(401);
    expect(await openSocket(url, [API_PROTOCOL, 'token.wrong'], ours)).toBe(401);
    expect(await openSocket(`${url}?token=wrong`, [API_PROTOCOL], ours)).toBe(401);
    expect(await openSocket(url, withToken, { origin: 'https://evil.example' })).toBe(403);
    expect(await openSocket(url, withToken, { origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await openSocket(url, withToken, { ...ours, host: `evil.example:${port}` })).toBe(403);
    // The refusals changed nothing for the sockets already open.
    expect(await client.call('host.status')).toMatchObject({ running: [], queueLength: 0 });
    expect(client.violations).toEqual([]);
    expect(watcher.violations).toEqual([]);
  });
});
