// `mixcd export --frontier`: a study's (or some runs') equal-compute frontier as tables (csv, md,
// latex, json) or as a figure (svg, rendered by ECharts in Node; png, that SVG rasterised by the
// headless Chromium the end-to-end tests use). Pure tables and options come from shared/.
import { errorMessage } from '../../shared/errors.js';
import {
  FRONTIER_METRICS,
  computeToKeep,
  frontierOption,
  frontierPoints,
  type FrontierMetric,
} from '../../shared/charts/frontier.js';
import {
  frontierToCsv,
  frontierToJson,
  frontierToLatex,
  frontierToMarkdown,
  type FrontierTables,
} from '../../shared/export/frontier.js';
import type { RunSummary } from '../../shared/results.js';

export const FRONTIER_FORMATS = ['csv', 'md', 'latex', 'json', 'svg', 'png'] as const;
export const DEFAULT_KEEP = [0.9, 0.95, 0.97];
const SIZE = { width: 900, height: 520 };

export class FrontierUsageError extends Error {}

export function parseKeep(text: string | undefined): number[] {
  if (text === undefined) return DEFAULT_KEEP;
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  const bad = parts.filter((_, i) => !(values[i] > 0 && values[i] <= 1));
  if (bad.length || !parts.length)
    throw new FrontierUsageError(
      `--keep "${text}" is not valid: give fractions of f0's accuracy in (0, 1], e.g. 0.9,0.95.`,
    );
  return values;
}

export function parseFrontierMetric(text: string | undefined): FrontierMetric {
  const metric = text ?? 'pretrainTestAcc';
  if (!(FRONTIER_METRICS as readonly string[]).includes(metric))
    throw new FrontierUsageError(
      `--metric "${metric}" is not valid with --frontier: give one of ${FRONTIER_METRICS.join(', ')}.`,
    );
  return metric as FrontierMetric;
}

/** f0's accuracy shared by every finished run; one sentence when they do not share one f0. */
export function sharedF0(runs: readonly RunSummary[], metric: FrontierMetric): number {
  const finished = runs.filter((r) => r.status === 'finished');
  if (!finished.length) throw new FrontierUsageError('None of these runs has finished, so there is no frontier yet.');
  const values = [...new Set(finished.map((r) => r.prior[metric]))];
  if (values.length > 1) {
    throw new FrontierUsageError(
      `These runs start from different f0s (${metric} ${values.map((v) => v.toFixed(4)).join(', ')}): ` +
        `export runs that share one f0.`,
    );
  }
  return values[0];
}

export function frontierTables(runs: readonly RunSummary[], metric: FrontierMetric, keep: number[]): FrontierTables {
  const f0 = sharedF0(runs, metric);
  const points = frontierPoints(runs);
  return { f0, metric, keep: computeToKeep(points, f0, keep, metric), points };
}

/** The frontier chart as an SVG document (ECharts' server-side SVG renderer). */
export async function frontierSvg(runs: readonly RunSummary[], metric: FrontierMetric): Promise<string> {
  const echarts = await import('echarts');
  const f0 = sharedF0(runs, metric);
  const title =
    `${metric === 'pretrainTestAcc' ? 'Retention' : 'Finetune accuracy'} against ` +
    `total compute (mean ± sd over seeds)`;
  const chart = echarts.init(null, undefined, { renderer: 'svg', ssr: true, ...SIZE });
  try {
    chart.setOption({ ...frontierOption(frontierPoints(runs), metric, { title, f0 }), backgroundColor: '#fff' });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** The SVG drawn by headless Chromium into a PNG (2x pixel ratio). */
export async function svgToPng(svg: string): Promise<Buffer> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error(
      'PNG export needs playwright-core (a dev dependency: npm ci) and Chromium; use --format svg instead.',
    );
  }
  const executablePath = process.env.MIXCD_CHROMIUM ?? '/usr/bin/chromium';
  const browser = await chromium.launch({ executablePath }).catch((error: unknown) => {
    throw new Error(
      `PNG export could not start Chromium at ${executablePath} (${errorMessage(error).split('\n')[0]}): ` +
        `apt-get install chromium, set MIXCD_CHROMIUM, or use --format svg.`,
    );
  });
  try {
    const page = await browser.newPage({ viewport: SIZE, deviceScaleFactor: 2 });
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    return await page.screenshot({ type: 'png', clip: { x: 0, y: 0, ...SIZE } });
  } finally {
    await browser.close();
  }
}

export async function renderFrontier(
  format: (typeof FRONTIER_FORMATS)[number],
  runs: readonly RunSummary[],
  metric: FrontierMetric,
  keep: number[],
): Promise<string | Buffer> {
  switch (format) {
    case 'svg':
      return frontierSvg(runs, metric);
    case 'png':
      return svgToPng(await frontierSvg(runs, metric));
    case 'csv':
      return frontierToCsv(frontierTables(runs, metric, keep));
    case 'md':
      return frontierToMarkdown(frontierTables(runs, metric, keep));
    case 'latex':
      return frontierToLatex(frontierTables(runs, metric, keep));
    case 'json':
      return frontierToJson(frontierTables(runs, metric, keep));
  }
}
