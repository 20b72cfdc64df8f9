// Entry of a trainer process. The host starts it with child_process.fork(..., { serialization:
// 'advanced' }) so that typed arrays (rehearsal counts, probe indices) cross intact; the desktop
// app starts the same file with Electron's utilityProcess.fork, which gives it process.parentPort
// (structured clone, so typed arrays cross there too).
import type { TrainerPort, TrainerToHost } from './protocol.js';
import { serveTrainer } from './serve.js';

/** The part of Electron's MessagePortMain (process.parentPort) used here; no Electron import. */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

// process.ppid is read live: a trainer re-parented because its host died sees another parent.
const parent = process.ppid;
const hostGone = () => process.ppid !== parent;

function childProcessPort(send: NonNullable<typeof process.send>): TrainerPort {
  return {
    post: (message: TrainerToHost) =>
      new Promise<void>((resolve, reject) => {
        send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
      }),
    onMessage: (listener) => void process.on('message', listener),
    hostGone,
  };
}

function utilityProcessPort(port: ParentPort): TrainerPort {
  return {
    // postMessage hands the message to Chromium's IPC at once; there is no delivery callback.
    post: (message: TrainerToHost) => Promise.resolve(port.postMessage(message)),
    onMessage: (listener) => port.on('message', (event) => listener(event.data)),
    hostGone,
  };
}

const parentPort = (process as { parentPort?: ParentPort }).parentPort;
const send = process.send?.bind(process);
if (!parentPort && !send) {
  process.stderr.write(
    'The trainer is started by the workbench host (it needs an IPC channel); it does nothing on its own.\n',
  );
  process.exit(2);
}
const code = await serveTrainer(parentPort ? utilityProcessPort(parentPort) : childProcessPort(send!));
// Exit now rather than waiting for the channel and tfjs to wind down (a utility process would not
// exit by itself at all). Under utilityProcess give Chromium's IPC a moment to send the last message.
if (parentPort) await new Promise((resolve) => setTimeout(resolve, 50));
process.exit(code);
