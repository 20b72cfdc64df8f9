// Who owns a queued or running run: a PID alone is not enough (after a container restart a new
// process can have the old PID), so the owner is also named by the boot id and the process's start
// time. A run is only "still running" when a process with that PID exists AND started at that time.
import fs from 'node:fs';

let bootId: string | null | undefined;

/** Linux's per-boot random id; null where /proc does not have it. */
function readBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/**
 * "BOOT_ID/START_TICKS" for a live process on Linux (field 22 of /proc/PID/stat: its start time
 * in clock ticks since boot), or null where that cannot be read (another OS, no such process).
 */
export function processIdentity(pid: number): string | null {
  const boot = readBootId();
  if (!boot) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19]; // fields[0] is field 3 (state), so field 22 is fields[19]
    return start && /^\d+$/.test(start) ? `${boot}/${start}` : null;
  } catch {
    return null;
  }
}

/** True while a process with this id exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface OwnerProbe {
  isAlive: (pid: number) => boolean;
  identityOf: (pid: number) => string | null;
}

export const SYSTEM_PROBE: OwnerProbe = { isAlive: processAlive, identityOf: processIdentity };

/**
 * Whether the recorded owner may still be running the run. A recorded identity must match the
 * live process's; without one (runs stored before identities, or an OS without /proc) the PID
 * decides, as before.
 */
export function ownerAlive(
  owner: { pid: number | null; host: string | null; start: string | null },
  host: string,
  probe: OwnerProbe = SYSTEM_PROBE,
): boolean {
  if (owner.host !== host || owner.pid === null || !probe.isAlive(owner.pid)) return false;
  if (owner.start === null) return true;
  const now = probe.identityOf(owner.pid);
  return now === null || now === owner.start;
}
