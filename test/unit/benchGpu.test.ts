// The gpu bench's own logic: its step count (1,500 unless shortened on purpose; bad input named)
// and the one line that says whether the webgpu run ended identical to the wasm run.
import { describe, expect, it } from 'vitest';
import { benchGpuSteps, sameness } from '../../bench/gpu.js';

describe('benchGpuSteps', () => {
  it("runs the issue's 1,500 steps unless MIXCD_BENCH_GPU_STEPS shortens it", () => {
    expect(benchGpuSteps({})).toBe(1500);
    expect(benchGpuSteps({ MIXCD_BENCH_GPU_STEPS: '' })).toBe(1500);
    expect(benchGpuSteps({ MIXCD_BENCH_GPU_STEPS: '300' })).toBe(300);
  });
  it('names a bad value and what to do', () => {
    for (const bad of ['abc', '0', '-5', '1.5']) {
      expect(() => benchGpuSteps({ MIXCD_BENCH_GPU_STEPS: bad })).toThrow(
        `MIXCD_BENCH_GPU_STEPS must be a whole number of steps >= 1 (got "${bad}"); unset it for 1,500.`,
      );
    }
  });
});

describe('sameness', () => {
  const point = (step: number, acc: number) => ({ step, pretrainTestAcc: acc, finetuneTestAcc: acc, cdRate: 0.1 });
  const run = (acc: number, precision: number) => ({
    prior: { pretrainTestAcc: 0.9, finetuneTestAcc: 0.2 },
    final: { pretrainTestAcc: acc, finetuneTestAcc: 0.8, cdRate: 0.1, rehearsalPrecision: precision },
    series: [point(0, 0.5), point(100, acc)],
  });
  it('says identical when every final number and the series match', () => {
    expect(sameness(run(0.83, 0.1), run(0.83, 0.1))).toBe(
      'prior (f0 from wasm) identical; final metrics identical (pretrainTestAcc, finetuneTestAcc, cdRate, ' +
        'rehearsalPrecision); over the 2 evaluations (2 on webgpu) the test accuracies differ by at most 0.0000',
    );
  });
  it('names what differs and by how much', () => {
    const line = sameness(run(0.8306, 0.1), { ...run(0.8309, 0.1), prior: { pretrainTestAcc: 0.8 } });
    expect(line).toMatch(/^prior \(f0 from wasm\) DIFFERENT; final metrics not identical: pretrainTestAcc differ/);
    expect(line).toMatch(/at most by 0\.000300; .* differ by at most 0\.0003$/);
  });
});
