// The views' y-axis choice for accuracy and rate curves: fitted to the data (a 2-point gap shows)
// or fixed at 0-1 (charts compare at a glance). One choice for Monitor and Compare, kept for this
// browser.
import { ref, watch, type Ref } from 'vue';
import { Y_RANGES, type YRange } from '../../../shared/charts/axes.js';

const KEY = 'mixcd-y-range';

function stored(): YRange {
  try {
    const value = window.localStorage.getItem(KEY);
    return (Y_RANGES as readonly string[]).includes(value ?? '') ? (value as YRange) : 'auto';
  } catch {
    return 'auto';
  }
}

let shared: Ref<YRange> | null = null;

/** The y range of the curves, shared by the views that draw them. */
export function useYRange(): Ref<YRange> {
  if (shared) return shared;
  const range = ref<YRange>(stored());
  watch(range, (value) => {
    try {
      window.localStorage.setItem(KEY, value);
    } catch {
      // storage off: the choice lasts for this page only
    }
  });
  shared = range;
  return range;
}
