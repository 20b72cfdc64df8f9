// The inspector's pure queries on a hand-made run small enough to check every answer by eye.
import { describe, expect, it } from 'vitest';
import {
  budgetWindows,
  filterSamples,
  knownCategories,
  rehearsalsBy,
  sampleStory,
  sizesBy,
  tally,
  type RunArrays,
  type SampleFilter,
} from '../../src-main/inspector/queries.js';
import { budgetShares, pearson, shares, studyBudgetRows, type BudgetWindow } from '../../shared/inspect.js';
import { UNKNOWN_CATEGORY } from '../../shared/results.js';

const CD = 0;
const UNF = 1;
const UNL = 2;
const NEW = 3;

/**
 * 6 samples, classes [0,1,0,1,2,2]; evals at 0, 10, 20. Rehearsals (step, index, category):
 * (2, 0, CD) (3, 1, UNF) (12, 0, UNF) (15, 4, ?) (19, 0, CD) (20, 5, UNL) (25, 2, CD; after the last eval).
 * Probe {1, 3} at every eval.
 */
function run(): RunArrays {
  const log = Int32Array.of(2, 0, 3, 1, 12, 0, 15, 4, 19, 0, 20, 5, 25, 2);
  return {
    size: 6,
    labels: Uint8Array.of(0, 1, 0, 1, 2, 2),
    classNames: ['a', 'b', 'c'],
    counts: Uint32Array.of(3, 1, 1, 0, 1, 1),
    log,
    logCategories: Uint8Array.of(CD, UNF, UNF, UNKNOWN_CATEGORY, CD, UNL, CD),
    probes: [
      { step: 0, indices: Int32Array.of(1, 3), categories: Uint8Array.of(UNF, UNL) },
      { step: 10, indices: Int32Array.of(1, 3), categories: Uint8Array.of(CD, UNL) },
      { step: 20, indices: Int32Array.of(1, 3), categories: Uint8Array.of(UNF, NEW) },
    ],
    priorLoss: Float32Array.of(0.5, 0.1, 0.9, 2.0, 0.3, 0.1),
    priorCorrect: Uint8Array.of(1, 1, 1, 0, 1, 0),
    binOf: Int32Array.of(1, 0, 1, -1, 2, -1),
  };
}

const all: SampleFilter = { rehearsedOnly: false, sort: 'index', order: 'asc', offset: 0, limit: 100 };

describe('knownCategories', () => {
  it("takes the latest of a sample's rehearsals (at steps <= the eval) and the probe", () => {
    const r = run();
    const at10 = knownCategories(r, 10);
    // 0: CD at step 2; 1: probe at 10 (CD) is later than its rehearsal at 3; 3: probe; 4, 5: nothing yet.
    expect(Array.from(at10.code)).toEqual([CD, CD, UNKNOWN_CATEGORY, UNL, UNKNOWN_CATEGORY, UNKNOWN_CATEGORY]);
    expect(Array.from(at10.at.subarray(0, 2))).toEqual([2, 10]);
    expect(Array.from(at10.source.subarray(0, 2))).toEqual([1, 0]);

    const at20 = knownCategories(r, 20);
    // 0: CD at 19; 4's verdict never arrived; 5: its rehearsal at step 20 saw f_20, the eval's model.
    expect(Array.from(at20.code)).toEqual([CD, UNF, UNKNOWN_CATEGORY, NEW, UNKNOWN_CATEGORY, UNL]);
    expect(at20.at[0]).toBe(19);
  });

  it('knows nothing from rehearsals of runs recorded without their categories', () => {
    const r = { ...run(), logCategories: null };
    expect(Array.from(knownCategories(r, 20).code)).toEqual([
      UNKNOWN_CATEGORY,
      UNF,
      UNKNOWN_CATEGORY,
      NEW,
      UNKNOWN_CATEGORY,
      UNKNOWN_CATEGORY,
    ]);
  });
});

describe('filterSamples', () => {
  const r = run();
  const known = knownCategories(r, 20);

  it('lists rehearsed samples most rehearsed first, ties by index, with what is known of each', () => {
    const page = filterSamples(r, known, { ...all, rehearsedOnly: true, sort: 'count', order: 'desc' });
    expect(page.total).toBe(5);
    expect(page.samples.map((s) => s.index)).toEqual([0, 1, 2, 4, 5]);
    expect(page.samples[0]).toEqual({
      index: 0,
      count: 3,
      class: 0,
      className: 'a',
      bin: 1,
      priorLoss: 0.5,
      category: 'collateral-damage',
      categoryStep: 19,
      categorySource: 'rehearsal',
    });
    expect(page.samples[3]).toMatchObject({ index: 4, category: null });
    expect(page.samples[3].categorySource).toBeUndefined();
  });

  it('filters by class, bin and category and pages the result', () => {
    expect(filterSamples(r, known, { ...all, class: 2 }).samples.map((s) => s.index)).toEqual([4, 5]);
    expect(filterSamples(r, known, { ...all, bin: 1 }).samples.map((s) => s.index)).toEqual([0, 2]);
    expect(filterSamples(r, known, { ...all, bin: -1 }).samples.map((s) => s.index)).toEqual([3, 5]);
    expect(filterSamples(r, known, { ...all, category: 'newly-learned' }).samples.map((s) => s.index)).toEqual([3]);
    expect(
      filterSamples(r, known, { ...all, category: 'collateral-damage', rehearsedOnly: true }).samples.map(
        (s) => s.index,
      ),
    ).toEqual([0]);
    expect(
      filterSamples(r, knownCategories(r, 10), { ...all, category: 'collateral-damage' }).samples.map((s) => s.index),
    ).toEqual([0, 1]);
    const page = filterSamples(r, known, { ...all, offset: 2, limit: 3 });
    expect(page.total).toBe(6);
    expect(page.samples.map((s) => s.index)).toEqual([2, 3, 4]);
    expect(filterSamples(r, known, { ...all, bin: 0 }).total).toBe(1);
  });

  it('sorts by prior loss either way and by index descending', () => {
    expect(filterSamples(r, known, { ...all, sort: 'priorLoss', order: 'asc' }).samples.map((s) => s.index)).toEqual([
      1, 5, 4, 0, 2, 3,
    ]);
    expect(filterSamples(r, known, { ...all, sort: 'priorLoss', order: 'desc' }).samples.map((s) => s.index)).toEqual([
      3, 2, 0, 4, 1, 5,
    ]);
    expect(filterSamples(r, known, { ...all, order: 'desc' }).samples.map((s) => s.index)).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it('leaves out bin and prior loss when they are unknown', () => {
    const bare = { ...r, binOf: null, priorLoss: null };
    const [first] = filterSamples(bare, known, all).samples;
    expect(first).not.toHaveProperty('bin');
    expect(first).not.toHaveProperty('priorLoss');
    expect(filterSamples(bare, known, { ...all, bin: 0 }).total).toBe(0);
  });
});

describe('budgetWindows', () => {
  it('counts rehearsals in [previous eval, eval) by their category, beside the probe at the eval', () => {
    const w = budgetWindows(run(), [0, 10, 20]);
    expect(w).toEqual([
      { step: 0, rehearsed: [0, 0, 0, 0], unknown: 0, probe: [0, 1, 1, 0] },
      { step: 10, rehearsed: [1, 1, 0, 0], unknown: 0, probe: [1, 0, 1, 0] },
      // 12 UNF, 15 unknown, 19 CD.
      { step: 20, rehearsed: [1, 1, 0, 0], unknown: 1, probe: [0, 1, 0, 1] },
      // 20 UNL and 25 CD come after the last eval (a cancelled run): a partial window, no probe.
      { step: 26, partial: true, rehearsed: [1, 0, 1, 0], unknown: 0, probe: null },
    ]);
    const whole = budgetShares(w);
    // Known verdicts: CD at 2, 19, 25; unforgotten at 3, 12; unlearned at 20.
    [3 / 6, 2 / 6, 1 / 6, 0].forEach((v, k) => expect(whole.rehearsed[k]).toBeCloseTo(v, 12));
    expect(whole.unknown).toBe(1);
    expect(whole.rehearsals).toBe(7);
    // The pretrain shares average the probe over the evals after f0.
    expect(whole.pretrain).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('counts every rehearsal as unknown for runs without categories, and has no pretrain share without a probe', () => {
    const w = budgetWindows({ ...run(), logCategories: null, probes: [] }, [0, 10, 20]);
    expect(w.map((x) => x.unknown)).toEqual([0, 2, 3, 2]);
    expect(budgetShares(w)).toEqual({ rehearsed: [0, 0, 0, 0], pretrain: null, rehearsals: 7, unknown: 7 });
  });
});

describe('tally', () => {
  it('counts rehearsals and distinct samples', () => {
    expect(tally(run().counts)).toEqual({ rehearsals: 7, distinct: 5 });
  });
});

describe('distributions and one sample', () => {
  it('sums rehearsals and sizes per class and per bin', () => {
    const r = run();
    expect(rehearsalsBy(r.counts, r.labels, 3)).toEqual({ byKey: [4, 1, 2], outside: 0 });
    expect(rehearsalsBy(r.counts, r.binOf!, 3)).toEqual({ byKey: [1, 4, 1], outside: 1 });
    expect(sizesBy(r.binOf!, 3)).toEqual({ byKey: [1, 2, 1], outside: 2 });
  });

  it("tells a sample's story: each rehearsal's verdict and its category at every probe eval", () => {
    const r = run();
    const story = sampleStory(r, knownCategories(r, 20), 1);
    expect(story.rehearsals).toEqual([{ step: 3, category: 'unforgotten' }]);
    expect(story.probe).toEqual([
      { step: 0, category: 'unforgotten' },
      { step: 10, category: 'collateral-damage' },
      { step: 20, category: 'unforgotten' },
    ]);
    expect(story.priorCorrect).toBe(true);
    expect(story.sample).toMatchObject({
      index: 1,
      count: 1,
      className: 'b',
      bin: 0,
      category: 'unforgotten',
      categorySource: 'probe',
    });

    const unprobed = sampleStory(r, knownCategories(r, 20), 0);
    expect(unprobed.probe).toBeNull();
    expect(unprobed.rehearsals.map((x) => x.step)).toEqual([2, 12, 19]);
    expect(sampleStory(r, knownCategories(r, 20), 4).rehearsals).toEqual([{ step: 15, category: null }]);
  });
});

describe('shared helpers', () => {
  it('pearson skips missing pairs and is null without spread or with fewer than 3 pairs', () => {
    expect(pearson([1, 2, 3, null], [2, 4, 6, 1]).r).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [4, 3, 2, 1]).r).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3, 4], [1, 3, 2, 4])).toEqual({ r: 0.8, n: 4 });
    expect(pearson([1, 2], [1, 2])).toEqual({ r: null, n: 2 });
    expect(pearson([1, 1, 1], [1, 2, 3])).toEqual({ r: null, n: 3 });
    expect(pearson([1, NaN, 3, 4], [1, 2, 3, 5]).n).toBe(3);
  });

  it('studyBudgetRows: one row per strategy and budget, mean and sd over seeds, none left out', () => {
    const w = (cd: number, unf: number, probeCd: number): BudgetWindow[] => [
      { step: 0, rehearsed: [0, 0, 0, 0], unknown: 0, probe: [0, 10, 0, 0] },
      { step: 10, rehearsed: [cd, unf, 0, 0], unknown: 1, probe: [probeCd, 10 - probeCd, 0, 0] },
    ];
    const rows = studyBudgetRows([
      {
        runId: 1,
        strategy: 'none',
        budget: 0.1,
        windows: [{ step: 0, rehearsed: [0, 0, 0, 0], unknown: 0, probe: [0, 10, 0, 0] }],
      },
      { runId: 2, strategy: 'random', budget: 0.1, windows: w(1, 3, 2) },
      { runId: 3, strategy: 'mix-cd', budget: 0.1, windows: w(2, 2, 1) },
      { runId: 4, strategy: 'random', budget: 0.1, windows: w(3, 1, 4) },
    ]);
    expect(rows.map((r) => [r.strategy, r.runIds])).toEqual([
      ['random', [2, 4]],
      ['mix-cd', [3]],
    ]);
    const [random, mix] = rows;
    // random's CD shares 0.25 and 0.75: mean 0.5, sample sd 0.354; its probe's CD 0.2 and 0.4.
    expect(random.rehearsed.mean[0]).toBeCloseTo(0.5, 12);
    expect(random.rehearsed.sd[0]).toBeCloseTo(Math.SQRT1_2 / 2, 12);
    expect(random.pretrain!.mean[0]).toBeCloseTo(0.3, 12);
    expect(random.rehearsals).toBe(10);
    expect(random.unknown).toBe(2);
    expect(mix.rehearsed).toEqual({ mean: [0.5, 0.5, 0, 0], sd: [0, 0, 0, 0] });
  });

  it('shares sum to one, or are all zero', () => {
    expect(shares([1, 3])).toEqual([0.25, 0.75]);
    expect(shares([0, 0])).toEqual([0, 0]);
  });
});
