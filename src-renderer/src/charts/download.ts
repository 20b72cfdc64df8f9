// A chart as a PNG or SVG file: drawn again off-screen from its option (with its title drawn in,
// at the on-screen size), so the file does not depend on what the page shows around it.
// Requires EChart.vue's registrations (it registers the canvas and SVG renderers).
import { init, type EChartsCoreOption } from 'echarts/core';
import type { ChartOption } from '../../../shared/charts/options.js';

export interface ChartSize {
  width: number;
  height: number;
}

function offscreen<T>(
  option: ChartOption,
  renderer: 'canvas' | 'svg',
  size: ChartSize,
  use: (instance: ReturnType<typeof init>) => T,
): T {
  // SVG renders to a string without any element (ssr); the canvas needs one, which stays detached.
  const instance =
    renderer === 'svg'
      ? init(null, undefined, { renderer, ssr: true, ...size })
      : init(document.createElement('div'), undefined, { renderer, ...size });
  try {
    instance.setOption({ ...option, animation: false, backgroundColor: '#fff' } as EChartsCoreOption);
    return use(instance);
  } finally {
    instance.dispose();
  }
}

function save(href: string, name: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.click();
}

export function downloadPng(option: ChartOption, size: ChartSize, name: string): void {
  save(
    offscreen(option, 'canvas', size, (i) => i.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' })),
    `${name}.png`,
  );
}

export function downloadSvg(option: ChartOption, size: ChartSize, name: string): void {
  const text = offscreen(option, 'svg', size, (i) => i.renderToSVGString());
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  save(url, `${name}.svg`);
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The option with its title drawn in (on the page the title is the figure's caption). */
export function withTitle(option: ChartOption, title: string): ChartOption {
  const grid = (option.grid as Record<string, unknown> | undefined) ?? {};
  return { ...option, title: { text: title, left: 'center', textStyle: { fontSize: 14 } }, grid: { ...grid, top: 70 } };
}
