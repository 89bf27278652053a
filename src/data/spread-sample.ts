// A sample of a list that stands for all of it when the list is ordered (Tatoeba's cmn.txt runs
// from the shortest sentences to the longest, so its first lines are all one or two words): n
// items evenly spaced over the list, the middle item of each of n equal stretches, in order.
// Pure and deterministic: the same list always gives the same sample.

/** `n` items spread evenly over `items`, in their order; all of them when there are at most n. */
export function spreadSample<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  // Stretch i covers [i·L/n, (i+1)·L/n); its middle item is taken. Stretches are at least one
  // item long (L > n), so no item is taken twice.
  for (let i = 0; i < n; i++) out.push(items[Math.floor(((i + 0.5) * items.length) / n)]);
  return out;
}
