// One trainer process seen from the host: spawn it, hand it the run, pass its messages on, and
// turn however it ends (its last message, its exit code or signal, our cancel) into one outcome.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { ExperimentResult } from '../engine/experiment.js';
import { isTrainerMessage, type StartMessage, type TrainerToHost } from '../trainer/protocol.js';
import { errorMessage } from '../../shared/errors.js';

/**
 * A started trainer, whatever started it: Node's child_process here, Electron's utilityProcess
 * in the desktop app (its shell passes its own SpawnTrainer to createHost).
 */
export interface TrainerHandle {
  readonly pid: number | undefined;
  send(message: StartMessage): void;
  kill(signal: NodeJS.Signals): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Once, after the process has ended and every message it sent has been delivered. */
  onExit(listener: (exitCode: number | null, signal: string | null, stderrTail: string) => void): void;
}

export type SpawnTrainer = (entry: string) => TrainerHandle;

/** Enough of the trainer's stderr to explain a crash (an uncaught error's message and stack). */
const STDERR_TAIL = 4000;

export const forkTrainer: SpawnTrainer = (entry) => {
  const child = fork(entry, [], {
    // Typed arrays (rehearsal counts, probe indices) cross as typed arrays, not as JSON objects.
    serialization: 'advanced',
    // Not the host's flags (a test runner's loaders, an inspector port): the trainer is plain Node.
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  // A failed spawn also ends in 'close'; without a listener its 'error' would be thrown.
  child.on('error', (error) => {
    stderr = `${stderr}${error.message}\n`.slice(-STDERR_TAIL);
  });
  return {
    pid: child.pid,
    send: (message) => void child.send(message, undefined, {}, () => {}),
    kill: (signal) => void child.kill(signal),
    onMessage: (listener) => void child.on('message', listener),
    // 'close', not 'exit': it waits for the IPC channel to drain, so no message arrives after it.
    onExit: (listener) => void child.once('close', (code, signal) => listener(code, signal, stderr)),
  };
};

export type TrainerOutcome =
  | { kind: 'finished'; result: ExperimentResult }
  | { kind: 'failed'; error: string; exitCode: number | null; signal: string | null }
  | { kind: 'cancelled' };

/** Time between SIGTERM and SIGKILL when failing a run: it must be gone within a second. */
export const KILL_AFTER_MS = 300;
/**
 * How long a trainer asked to stop (its stop file) may take to checkpoint and end before it is
 * killed: a step, a checkpoint write, the last message. A killed run resumes from its previous
 * checkpoint instead.
 */
export const STOP_GRACE_MS = 10_000;
/** How long a trainer may linger after its last message before it is killed. */
const EXIT_GRACE_MS = 2000;

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // Node prints the thrown error's message after the source excerpt and before the stack.
  const error = lines.find((l) => /^[A-Za-z]*Error\b/.test(l));
  return error ?? lines[lines.length - 1] ?? '';
}

export class TrainerProcess {
  /** Settles once, when the process is gone. */
  readonly outcome: Promise<TrainerOutcome>;
  private readonly handle: TrainerHandle;
  private last: TrainerToHost | null = null;
  private cancelRequested = false;
  private failure: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private readonly stopFile: string | undefined;

  constructor(
    spawn: SpawnTrainer,
    entry: string,
    start: StartMessage,
    /** started, progress and eval messages; if it throws, the run fails with that error. */
    onMessage: (message: Exclude<TrainerToHost, { type: 'finished' | 'failed' }>) => void,
  ) {
    this.stopFile = start.stopFile;
    this.handle = spawn(entry);
    this.outcome = new Promise((resolve) => {
      this.handle.onExit((exitCode, signal, stderr) => {
        this.timers.forEach(clearTimeout);
        resolve(this.settle(exitCode, signal, stderr));
      });
    });
    this.handle.onMessage((message) => {
      if (!isTrainerMessage(message) || message.runId !== start.runId || this.last) return;
      if (message.type === 'finished' || message.type === 'failed') {
        this.last = message;
        this.timers.push(setTimeout(() => this.handle.kill('SIGKILL'), EXIT_GRACE_MS).unref());
        return;
      }
      try {
        onMessage(message);
      } catch (error) {
        this.fail(`The host could not record the run: ${errorMessage(error)}`);
      }
    });
    this.handle.send(start);
  }

  get pid(): number | null {
    return this.handle.pid ?? null;
  }

  /**
   * Asks the trainer to stop: it checkpoints at its current step and ends the run as cancelled
   * (resumable). Without a stop file, or if it has not ended after STOP_GRACE_MS, it is killed.
   * `outcome` tells when it is gone.
   */
  cancel(): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    if (!this.stopFile) return this.stop();
    try {
      writeFileSync(this.stopFile, `${process.pid}\n`);
    } catch {
      return this.stop();
    }
    this.timers.push(setTimeout(() => this.handle.kill('SIGKILL'), STOP_GRACE_MS).unref());
  }

  /** Ends the trainer at once (a second Ctrl-C): the run is stored as cancelled, resumable from its last checkpoint. */
  kill(): void {
    this.cancelRequested = true;
    this.handle.kill('SIGKILL');
  }

  /** Ends the run as failed with this error (e.g. its results cannot be stored). */
  fail(error: string): void {
    this.failure ??= error;
    this.stop();
  }

  private stop(): void {
    this.handle.kill('SIGTERM');
    this.timers.push(setTimeout(() => this.handle.kill('SIGKILL'), KILL_AFTER_MS).unref());
  }

  private settle(exitCode: number | null, signal: string | null, stderr: string): TrainerOutcome {
    // A result that arrived before a cancel is still the run's result.
    if (this.last?.type === 'finished' && this.failure === null) return { kind: 'finished', result: this.last.result };
    if (this.failure !== null) return { kind: 'failed', error: this.failure, exitCode, signal };
    if (this.cancelRequested) return { kind: 'cancelled' };
    if (this.last?.type === 'failed') return { kind: 'failed', error: this.last.error, exitCode, signal };
    const how = signal ? `was killed by signal ${signal}` : `exited with code ${exitCode}`;
    const detail = lastLine(stderr);
    return {
      kind: 'failed',
      error: `The trainer process ${how} before the run ended${detail ? `: ${detail}` : '.'}`,
      exitCode,
      signal,
    };
  }
}
