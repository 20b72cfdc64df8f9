// Continual-learning summaries of an accuracy matrix (MIXCD.md, "Multi-stage"), pure so the
// engine, the UI and tests compute them the same way.

/**
 * `initial[i]`: f0's accuracy on task i; `matrix[i][j]`: accuracy on task i after stage j + 1.
 * Task 0 is learned by pretraining (its reference is f0), task i >= 1 by stage i.
 */
export function continualMeasures(
  initial: number[],
  matrix: number[][],
): { averageAccuracy: number; forgetting: (number | null)[]; backwardTransfer: number | null } {
  const tasks = matrix.length;
  const stages = tasks ? matrix[0].length : 0;
  const last = stages - 1;
  const finalOf = (i: number) => matrix[i][last];
  const averageAccuracy = tasks ? matrix.reduce((a, row) => a + row[last], 0) / tasks : 0;
  // Accuracies of task i from when it was learned up to the stage before the last.
  const history = (i: number) => (i === 0 ? [initial[0], ...matrix[0].slice(0, last)] : matrix[i].slice(i - 1, last));
  const forgetting = matrix.map((_, i) => {
    const seen = history(i);
    return seen.length ? Math.max(...seen) - finalOf(i) : null;
  });
  const learned = (i: number) => (i === 0 ? initial[0] : matrix[i][i - 1]);
  const earlier = Array.from({ length: Math.max(0, tasks - 1) }, (_, i) => i).filter((i) => i === 0 || i - 1 < last);
  const backwardTransfer = earlier.length
    ? earlier.reduce((a, i) => a + finalOf(i) - learned(i), 0) / earlier.length
    : null;
  return { averageAccuracy, forgetting, backwardTransfer };
}
