/** The drift rule, pure: a target drifts when its live MAE ratio exceeds `threshold` × its ratio at promotion. */
export interface TargetDrift {
  live_ratio: number | null;
  reference_ratio: number | null;
  change: number | null;
  drifted: boolean;
}

/**
 * Per target of `live`: live / reference, drifted when above `threshold` (e.g. 1.15: 15 % worse
 * against persistence than at promotion). A target without both ratios cannot drift.
 */
export function driftRule(
  live: Record<string, number | null>,
  reference: Record<string, number | null>,
  threshold: number,
): { drifted: boolean; targets: Record<string, TargetDrift> } {
  const targets: Record<string, TargetDrift> = {};
  for (const [name, liveRatio] of Object.entries(live)) {
    const ref = reference[name] ?? null;
    const change = liveRatio !== null && ref !== null && ref > 0 ? liveRatio / ref : null;
    targets[name] = {
      live_ratio: liveRatio,
      reference_ratio: ref,
      change,
      drifted: change !== null && change > threshold,
    };
  }
  return { drifted: Object.values(targets).some((t) => t.drifted), targets };
}
