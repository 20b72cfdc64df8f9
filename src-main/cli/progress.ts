// Terminal progress: a bar on an interactive terminal (stderr, so stdout stays clean for --json),
// a line every few seconds otherwise, nothing with --quiet.
import cliProgress from 'cli-progress';
import type { ExperimentObserver, Phase } from '../engine/experiment.js';

export interface ProgressReporter {
  observer: ExperimentObserver;
  stop(): void;
}

export function createProgress(mode: 'bar' | 'lines' | 'quiet', label = ''): ProgressReporter {
  if (mode === 'quiet') return { observer: {}, stop: () => {} };
  const prefix = label ? `${label} ` : '';
  if (mode === 'lines') {
    let last = 0;
    const line = (text: string) => process.stderr.write(`${prefix}${text}\n`);
    const throttled = (text: string, force = false) => {
      const now = Date.now();
      if (force || now - last > 5000) {
        last = now;
        line(text);
      }
    };
    return {
      observer: {
        onPhase: (_phase: Phase, message: string) => line(message),
        onPretrainProgress: (p) => throttled(`pretrain step ${p.step}/${p.totalSteps} loss ${p.loss?.toFixed(4)}`),
        onProgress: (p) =>
          throttled(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)}`, p.step === p.totalSteps),
        onEval: (point) =>
          line(
            `eval @${point.step}: pretrain-test ${point.pretrainTestAcc.toFixed(4)}, ` +
              `finetune-test ${point.finetuneTestAcc.toFixed(4)}, CD rate ${point.cdRate.toFixed(4)}`,
          ),
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${prefix}{phase} |{bar}| {value}/{total} steps | {info} | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let info = '';
  const show = (phase: string, value: number, total: number) => {
    if (!started) {
      bar.start(total, value, { phase, info });
      started = true;
    } else {
      bar.setTotal(total);
      bar.update(value, { phase, info });
    }
  };
  return {
    observer: {
      onPhase: (phase: Phase, message: string) => {
        if (started) {
          bar.stop();
          started = false;
        }
        process.stderr.write(`${prefix}${message}\n`);
        void phase;
      },
      onPretrainProgress: (p) => {
        info = `loss ${p.loss?.toFixed(4)}`;
        show('pretrain', p.step, p.totalSteps);
      },
      onProgress: (p) => {
        info = `loss ${p.loss.toFixed(4)}`;
        show('finetune', p.step, p.totalSteps);
      },
      onEval: (point) => {
        info = `pretrain-test ${point.pretrainTestAcc.toFixed(3)} finetune-test ${point.finetuneTestAcc.toFixed(3)}`;
      },
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Merge observers: each event goes to all that handle it. */
export function combineObservers(...observers: ExperimentObserver[]): ExperimentObserver {
  const keys = ['onStart', 'onPhase', 'onPretrainProgress', 'onProgress', 'onEval', 'onFinalModel'] as const;
  const combined: ExperimentObserver = {};
  for (const key of keys) {
    const handlers = observers.map((o) => o[key]).filter((h): h is NonNullable<typeof h> => typeof h === 'function');
    if (handlers.length)
      (combined as Record<string, unknown>)[key] = (...args: unknown[]) =>
        handlers.forEach((h) => (h as (...a: unknown[]) => void)(...args));
  }
  const stops = observers.map((o) => o.shouldStop).filter((s): s is () => boolean => typeof s === 'function');
  if (stops.length) combined.shouldStop = () => stops.some((s) => s());
  return combined;
}
