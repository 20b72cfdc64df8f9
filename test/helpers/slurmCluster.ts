// A real single-node Slurm cluster for a test, on this machine, without systemd: Debian's munge,
// slurmctld and slurmd (22.05) started in the foreground with a munge key, a slurm.conf and state
// folders of their own in a temp dir, on free ports; stop() cancels what is left and kills the
// daemons by their PIDs. Clients (sbatch, squeue, scancel, scontrol) find it through SLURM_CONF.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SLURM_PACKAGES = 'slurmctld slurmd slurm-client munge';
const DAEMONS = ['munged', 'slurmctld', 'slurmd'] as const;
const CLIENTS = ['sbatch', 'squeue', 'scancel', 'scontrol', 'sinfo'] as const;

function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

/** One sentence naming what to install when a program is missing; null when all are there. */
export function missingSlurm(): string | null {
  const missing = [...DAEMONS, ...CLIENTS].filter((name) => !findProgram(name));
  if (!missing.length) return null;
  return (
    `The Slurm test needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed: ` +
    `apt-get install --no-install-recommends ${SLURM_PACKAGES} (as .ci/run does).`
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SlurmCluster {
  dir: string;
  conf: string;
  /** Give this to every Slurm client (and to `mixcd study --slurm`, whose jobs inherit it). */
  env: Record<string, string>;
  /** Seconds from the first daemon started until sinfo said idle. */
  startSeconds: number;
  /** A client command (sbatch, squeue, scancel, scontrol, sinfo, ...) against this cluster. */
  client(command: string, args: string[]): { code: number | null; stdout: string; stderr: string };
  /** The last lines of the daemons' logs, for a failure message. */
  logs(): string;
  stop(): Promise<void>;
}

export async function startSlurmCluster(options: { cpus?: number } = {}): Promise<SlurmCluster> {
  const missing = missingSlurm();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-slurm-'));
  const keyDir = path.join(dir, 'munge-key');
  const mungeDir = path.join(dir, 'munge');
  for (const sub of ['state', 'spool', 'log', 'munge-key', 'munge']) mkdirSync(path.join(dir, sub));
  chmodSync(keyDir, 0o700);
  chmodSync(mungeDir, 0o755); // clients must reach the socket
  const key = path.join(keyDir, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const socket = path.join(mungeDir, 'munge.socket');
  const host = os.hostname().split('.')[0];
  const cpus = Math.min(options.cpus ?? 2, os.cpus().length);
  // Below what slurmd measures (a node configured with more memory than it has is drained).
  const memory = Math.floor((os.totalmem() / 2 ** 20) * 0.9);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=mixcdtest',
      `SlurmctldHost=${host}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      // cred_expire is also how long a requeued job waits before it may start again (default 120 s).
      `AuthInfo=socket=${socket},cred_expire=10`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${path.join(dir, 'state')}`,
      `SlurmdSpoolDir=${path.join(dir, 'spool')}`,
      `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${path.join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${path.join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'MpiDefault=none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'JobAcctGatherType=jobacct_gather/none',
      'MailProg=/bin/true',
      'JobRequeue=1',
      'KillWait=5',
      'ReturnToService=2',
      // Pending jobs (a requeued task once its wait is over) are looked at every 2 s, not every 60 s.
      'SchedulerParameters=sched_interval=2,bf_interval=1',
      'MinJobAge=600',
      `NodeName=${host} CPUs=${cpus} RealMemory=${memory} State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { SLURM_CONF: conf };
  const daemons: ChildProcess[] = [];
  const started = performance.now();
  const startDaemon = (name: (typeof DAEMONS)[number], args: string[]) => {
    const out = openSync(path.join(dir, 'log', `${name}.out`), 'a');
    const child = spawn(findProgram(name)!, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
    daemons.push(child);
    return child;
  };
  const client: SlurmCluster['client'] = (command, args) => {
    const r = spawnSync(findProgram(command) ?? command, args, {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 30_000,
    });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const logs = () =>
    ['munged.out', 'slurmctld.out', 'slurmd.out', 'slurmctld.log', 'slurmd.log']
      .map((name) => path.join(dir, 'log', name))
      .filter(existsSync)
      .map((file) => `--- ${file}\n${readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');
  const killAll = () => {
    for (const child of [...daemons].reverse()) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killAll); // a test process that dies does not leave the daemons behind
  const stop = async () => {
    // Jobs first (their slurmstepd would outlive slurmd), then the daemons, newest first, by PID.
    const ids = client('squeue', ['--noheader', '--format', '%A']).stdout.split('\n').filter(Boolean);
    if (ids.length) client('scancel', ['--full', ...ids]);
    for (let i = 0; i < 40 && client('squeue', ['--noheader']).stdout.trim(); i++) await sleep(250);
    // A job's batch folder (spool/jobNNNNN) goes when its slurmstepd is done with it.
    const jobFolders = () => readdirSync(path.join(dir, 'spool')).filter((name) => name.startsWith('job'));
    for (let i = 0; i < 60 && jobFolders().length; i++) await sleep(250);
    for (const child of [...daemons].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    process.off('exit', killAll);
    if (!process.env.MIXCD_KEEP_SLURM) rmSync(dir, { recursive: true, force: true });
  };
  try {
    startDaemon('munged', [
      '--foreground',
      '--force',
      `--socket=${socket}`,
      `--key-file=${key}`,
      `--pid-file=${path.join(mungeDir, 'munged.pid')}`,
      `--log-file=${path.join(dir, 'log', 'munged.log')}`,
      `--seed-file=${path.join(mungeDir, 'munged.seed')}`,
    ]);
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(100);
    if (!existsSync(socket)) throw new Error('munged did not create its socket within 10 s.');
    startDaemon('slurmctld', ['-D', '-f', conf]);
    startDaemon('slurmd', ['-D', '-f', conf]);
    for (let i = 0; ; i++) {
      const state = client('sinfo', ['--noheader', '--format', '%T']).stdout.trim();
      if (state === 'idle') break;
      if (i > 240) throw new Error(`The Slurm node did not become idle within 60 s (sinfo says "${state}").`);
      if (daemons.some((d) => d.exitCode !== null)) throw new Error('A Slurm daemon exited while starting.');
      await sleep(250);
    }
  } catch (error) {
    const message = `${(error as Error).message}\n${logs()}`;
    await stop();
    throw new Error(message, { cause: error });
  }
  return { dir, conf, env, startSeconds: (performance.now() - started) / 1000, client, logs, stop };
}
