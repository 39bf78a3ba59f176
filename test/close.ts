/** Closeness checks for forecasts compared with the trainer's float32 answers. */
import { expect } from "vitest";

/** `actual` within `rel` of `want`, relative to max(1, |want|). */
export function expectClose(actual: number, want: number, rel: number): void {
  expect(Math.abs(actual - want)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want)));
}

/** As `expectClose` for each element, the lengths equal. */
export function expectAllClose(actual: ArrayLike<number>, want: readonly number[], rel: number): void {
  expect(actual).toHaveLength(want.length);
  want.forEach((v, j) => {
    expectClose(actual[j] as number, v, rel);
  });
}
