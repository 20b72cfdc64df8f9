// The compare view's draw time: 5 runs x 2,000 eval points. Two figures: building the chart
// options with the pure builders in Node, and the real draw in headless Chromium (the built
// renderer served by browser mode's server, a fake host answering with synthetic runs, from
// navigation to every chart's ECharts 'finished' event, read from Compare.vue's data-rendered-ms).
// Plus the renderer bundle sizes. Needs `npm run build` first (the bench script does it).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { bandChartOption, bandSeries, groupBySettings, paretoOption } from '../shared/charts/compare.js';
import { DEFAULT_RUN_CONFIG, type RunConfig } from '../shared/config.js';
import { toRunListItem, type EventMessage, type ResponseMessage } from '../shared/contract.js';
import type { EvalPoint, RunSummary } from '../shared/results.js';
import { studyTable } from '../shared/studyTable.js';
import { startBrowserServer, type HostConnection } from '../src-main/server/browserServer.js';
import { mulberry32 } from '../src-main/data/mulberry32.js';
import { fakeHistoryHost, syntheticHistory, timeHistory, type HistoryTimings } from './historyView.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The project root from bench/ (vitest, sources) or dist/bench/ (npm run bench). */
export const projectRoot =
  path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..');
/** MIXCD_RENDERER_DIR overrides where the built renderer is read from. */
export const rendererDir = process.env.MIXCD_RENDERER_DIR
  ? path.resolve(process.env.MIXCD_RENDERER_DIR)
  : path.join(projectRoot, 'dist/renderer');

/** The project's frozen small PRNG, so the synthetic curves are the same every time. */
const prng = mulberry32;

export interface SyntheticSpec {
  id: number;
  strategy: RunConfig['rehearsal']['strategy'];
  budget: number;
  seed: number;
}

/** A finished run with `points` evals (every 10 steps): forgetting that levels off, noisy by seed. */
export function syntheticRun(spec: SyntheticSpec, points: number): RunSummary {
  const config: RunConfig = structuredClone(DEFAULT_RUN_CONFIG);
  config.rehearsal.strategy = spec.strategy;
  config.rehearsal.budget = spec.budget;
  config.seed = spec.seed;
  config.finetune.evalEvery = 10;
  config.finetune.steps = (points - 1) * 10;
  const random = prng(spec.id * 7919 + spec.seed);
  const keep = spec.strategy === 'none' ? 0.45 : spec.strategy === 'mix-cd' ? 0.75 : 0.6;
  const series: EvalPoint[] = [];
  for (let i = 0; i < points; i++) {
    const t = 1 - Math.exp(-i / (points / 8));
    const noise = (random() - 0.5) * 0.04;
    const pretrainTestAcc = 0.88 - (1 - keep) * 0.6 * t + noise;
    series.push({
      step: i * 10,
      pretrainTestAcc,
      finetuneTestAcc: 0.1 + 0.75 * t + (random() - 0.5) * 0.04,
      cdRate: Math.max(0, (0.88 - pretrainTestAcc) / 0.88),
      rehearsalPrecision: spec.strategy === 'none' || i === 0 ? null : 0.2 + random() * 0.2,
    });
  }
  const last = series[series.length - 1];
  return {
    id: spec.id,
    studyId: null,
    status: 'finished',
    config,
    backend: 'synthetic',
    device: 'none',
    dataFingerprint: 'synthetic',
    prior: { pretrainTestAcc: 0.88, finetuneTestAcc: 0.1 },
    final: {
      pretrainTestAcc: last.pretrainTestAcc,
      finetuneTestAcc: last.finetuneTestAcc,
      cdRate: last.cdRate,
      rehearsalPrecision: last.rehearsalPrecision,
    },
    compute: { forwardPasses: points * 1000, backwardPasses: points * 1000, extraForwardPasses: 0, wallSeconds: 1 },
    createdAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    series,
  };
}

/** A host that knows only these runs (and one study, id 1, holding them all; studies.list names it). */
export function fakeCompareHost(runs: RunSummary[]): HostConnection & { seen: string[] } {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const seen: string[] = [];
  const fail = (id: unknown, message: string): ResponseMessage => ({
    id: id as number,
    ok: false,
    error: { code: 'not-found', message },
  });
  return {
    seen,
    async handle(raw) {
      const { id, method, params } = raw as {
        id: number;
        method: string;
        params?: { id?: number; filter?: { status?: string | string[] } };
      };
      seen.push(method);
      const ok = (result: unknown): ResponseMessage => ({ id, ok: true, result });
      const run = byId.get(Number(params?.id));
      switch (method) {
        case 'runs.list': {
          // Newest first, as the host lists them; the monitor asks for the running and queued ones only.
          const status = params?.filter?.status;
          const wanted = status === undefined ? null : new Set(Array.isArray(status) ? status : [status]);
          const listed = runs.filter((r) => !wanted || wanted.has(r.status)).sort((a, b) => b.id - a.id);
          return ok(listed.map((r) => toRunListItem(r, [])));
        }
        case 'runs.get':
          return run ? ok({ ...run, series: [], tags: [] }) : fail(id, `There is no run ${params?.id}.`);
        case 'runs.series':
          return run ? ok(run.series) : fail(id, `There is no run ${params?.id}.`);
        case 'studies.list':
          return ok([{ id: 1, name: 'synthetic study', createdAt: '2026-01-01T00:00:00.000Z', config: {} }]);
        case 'studies.get':
          return params?.id === 1
            ? ok({
                study: { id: 1, name: 'synthetic study', createdAt: '2026-01-01T00:00:00.000Z', config: {} },
                runs,
                table: studyTable(runs),
              })
            : fail(id, `There is no study ${params?.id}.`);
        default:
          return fail(id, `The fake host does not answer ${method}.`);
      }
    },
    subscribe(_listener: (event: EventMessage) => void) {
      return () => {};
    },
  };
}

/** Is the Compare view in the build (router.ts routes #/compare to a lazy Compare chunk)? */
export function compareChunk(dir = rendererDir): string | null {
  const assets = path.join(dir, 'assets');
  if (!existsSync(assets)) return null;
  return readdirSync(assets).find((f) => /^Compare-.*\.js$/.test(f)) ?? null;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

const RUNS = 5;
const POINTS = 2000;
const SPECS: SyntheticSpec[] = [
  { id: 1, strategy: 'mix-cd', budget: 0.1, seed: 1 },
  { id: 2, strategy: 'mix-cd', budget: 0.1, seed: 2 },
  { id: 3, strategy: 'mix-cd', budget: 0.1, seed: 3 },
  { id: 4, strategy: 'random', budget: 0.1, seed: 1 },
  { id: 5, strategy: 'random', budget: 0.1, seed: 2 },
];

function bundleSizes(): string[] {
  const assets = path.join(rendererDir, 'assets');
  if (!existsSync(assets)) return [`renderer bundle: ${assets} is missing (run npm run build first)`];
  const files = readdirSync(assets)
    .filter((f) => /\.(js|css)$/.test(f))
    .sort();
  let total = 0;
  let totalGz = 0;
  const lines = files.map((f) => {
    const body = readFileSync(path.join(assets, f));
    const gz = gzipSync(body).length;
    total += statSync(path.join(assets, f)).size;
    totalGz += gz;
    return `  ${f.padEnd(32)} ${kb(body.length).padStart(10)}  (${kb(gz)} gzip)`;
  });
  return [
    'renderer bundle (dist/renderer/assets):',
    ...lines,
    `  ${'total'.padEnd(32)} ${kb(total).padStart(10)}  (${kb(totalGz)} gzip)`,
  ];
}

/** History with 10,000 runs: main-thread time to open, filter, search and sort (goal: 200 ms each). */
async function benchHistoryView(loads = 3): Promise<string[]> {
  if (!existsSync(path.join(rendererDir, 'index.html'))) return [`history view: skipped, ${rendererDir} is not built`];
  if (!existsSync('/usr/bin/chromium')) return ['history view: skipped, /usr/bin/chromium is missing'];
  const { chromium } = await import('playwright-core');
  const count = 10_000;
  const server = await startBrowserServer({ host: fakeHistoryHost(syntheticHistory(count)), rendererDir });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const all: HistoryTimings[] = [];
    for (let i = 0; i < loads; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      all.push(await timeHistory(await context.newPage(), server.url, count));
      await context.close();
    }
    const of = (key: 'open' | 'list' | 'filter' | 'search' | 'sort') =>
      `${median(all.map((t) => t[key].cpu)).toFixed(0)} ms (wall ${median(all.map((t) => t[key].task)).toFixed(0)})`;
    return [
      `history view, ${count} runs (the page's main thread: CPU time, Chrome ThreadTime, and the wall time of ` +
        `its tasks, TaskDuration; median of ${loads} cold loads; goal 200 ms each for list, filter, search and sort):`,
      `  list (runs.list received and parsed + rows built + table drawn) ${of('list')}, filter ${of('filter')}, ` +
        `search ${of('search')}, sort ${of('sort')}; open (page boot + list) ${of('open')}; ` +
        `${all[0].rowsInPage} table rows in the page (windowed)`,
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function benchRenderer(options: { loads?: number } = {}): Promise<string[]> {
  const loads = options.loads ?? 5;
  const lines: string[] = [];
  const runs = SPECS.slice(0, RUNS).map((s) => syntheticRun(s, POINTS));

  // 1. The pure builders in Node: grouping, three band charts and the Pareto plot.
  const buildMs: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    const groups = groupBySettings(runs);
    bandChartOption(bandSeries(groups, 'pretrainTestAcc'), { title: 'r', yName: 'y', f0: 0.88 });
    bandChartOption(bandSeries(groups, 'finetuneTestAcc'), { title: 'f', yName: 'y' });
    bandChartOption(bandSeries(groups, 'cdRate'), { title: 'c', yName: 'y' });
    paretoOption(studyTable(runs));
    buildMs.push(performance.now() - t0);
  }
  lines.push(
    `options for ${RUNS} runs x ${POINTS} points (3 band charts + Pareto), ` +
      `Node: median ${median(buildMs.slice(1)).toFixed(1)} ms over 20 builds`,
  );

  // 2. The real draw in headless Chromium.
  const chunk = compareChunk();
  if (!chunk) {
    lines.push(
      `draw in Chromium: skipped, the built renderer (${rendererDir}) has no ` +
        `Compare chunk: router.ts does not route #/compare, or npm run build was ` +
        `not run`,
    );
  } else if (!existsSync('/usr/bin/chromium')) {
    lines.push('draw in Chromium: skipped, /usr/bin/chromium is missing (apt-get install -y chromium)');
  } else {
    const { chromium } = await import('playwright-core');
    const server = await startBrowserServer({ host: fakeCompareHost(runs), rendererDir });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const inPage: number[] = [];
      const drawOnly: number[] = [];
      const wall: number[] = [];
      const ids = runs.map((r) => r.id).join(',');
      for (let i = 0; i < loads + 1; i++) {
        // A fresh context per load: no cached assets, like opening the view in a new window.
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(`${server.url}#/compare?runs=${ids}`);
        const section = page.locator('[data-test="compare"][data-rendered-ms]');
        await section.waitFor({ timeout: 60_000 });
        const ms = Number(await section.getAttribute('data-rendered-ms'));
        const loadedAt = Number(await section.getAttribute('data-loaded-ms'));
        const w = performance.now() - t0;
        await context.close();
        if (i === 0) continue; // warm-up (first launch of the renderer processes)
        inPage.push(ms);
        drawOnly.push(ms - loadedAt);
        wall.push(w);
      }
      lines.push(
        `draw in headless Chromium, ${RUNS} runs x ${POINTS} points, 4 charts: ` +
          `median ${median(inPage).toFixed(0)} ms from navigation to all charts drawn ` +
          (`(min ${Math.min(...inPage).toFixed(0)}, max ${Math.max(...inPage).toFixed(0)}; ` +
            `${loads} cold loads; seen from Node: median ${median(wall).toFixed(0)} ` +
            `ms)`),
        `  of which drawing (series in hand -> ECharts 'finished' on all 4 charts): ` +
          `median ${median(drawOnly).toFixed(0)} ms (min ${Math.min(...drawOnly).toFixed(0)}, ` +
          `max ${Math.max(...drawOnly).toFixed(0)})`,
      );
    } finally {
      await browser.close();
      await server.close();
    }
  }
  lines.push(...(await benchHistoryView()));
  lines.push(...bundleSizes());
  return lines;
}
