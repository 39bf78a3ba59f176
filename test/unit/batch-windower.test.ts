/**
 * Batch windows built block by block equal the windows of the whole series (the training gap rule of
 * functions/evaluate/windows.ts), whatever the block boundaries; windows with a non-finite feature are
 * left out and counted; the running error sums equal functions/evaluate/scoring.ts on the whole.
 */
import { describe, expect, it } from "vitest";
import { ErrorSums, maeRatio } from "../../functions/batch-inference/errors.ts";
import type { Block } from "../../functions/batch-inference/reader.ts";
import { Windower } from "../../functions/batch-inference/windower.ts";
import { persistencePredictions, perTargetMetrics } from "../../functions/evaluate/scoring.ts";
import { buildInputs, buildTargets, windowStarts } from "../../functions/evaluate/windows.ts";

/** A deterministic series: 2-minute steps with a few gaps, features a, b (target b), some NaN cells. */
function series(rows: number) {
  const times = new Float64Array(rows);
  const a = new Float64Array(rows);
  const b = new Float64Array(rows);
  let t = 1_700_000_000;
  for (let i = 0; i < rows; i++) {
    t += i % 97 === 0 ? 1200 : i % 41 === 0 ? 300 : 120; // 1200 s is a gap, 300 s is within tolerance
    times[i] = t;
    a[i] = i % 53 === 7 ? Number.NaN : Math.sin(i / 10) * 100;
    b[i] = i % 71 === 3 ? Number.NaN : i * 0.5 + (i % 7);
  }
  return { times, a, b };
}

const shape = { features: ["a", "b"], targets: ["b"], window: 6, horizon: 2, gapToleranceSeconds: 360 };

function blocks(s: ReturnType<typeof series>, sizes: number[]): Block[] {
  const out: Block[] = [];
  let from = 0;
  for (let i = 0; from < s.times.length; i++) {
    const to = Math.min(s.times.length, from + (sizes[i % sizes.length] as number));
    out.push({ times: s.times.slice(from, to), columns: [s.a.slice(from, to), s.b.slice(from, to)] });
    from = to;
  }
  return out;
}

function whole(s: ReturnType<typeof series>) {
  const ser = {
    times: s.times,
    columns: new Map([
      ["a", s.a],
      ["b", s.b],
    ]),
  };
  const all = windowStarts(s.times, shape.window, shape.horizon, shape.gapToleranceSeconds);
  const starts = all.filter((st) => {
    for (let r = st; r < st + shape.window; r++)
      if (!Number.isFinite(s.a[r] as number) || !Number.isFinite(s.b[r] as number)) return false;
    return true;
  });
  return {
    starts,
    gap: s.times.length - (shape.window + shape.horizon) + 1 - all.length,
    nonFinite: all.length - starts.length,
    inputs: buildInputs(ser, starts, shape.features, shape.window, shape.horizon),
    targets: buildTargets(ser, starts, shape.targets, shape.window, shape.horizon),
  };
}

function collect(bs: Block[]) {
  const w = new Windower(shape);
  const x: number[] = [];
  const t: number[] = [];
  const truth: number[] = [];
  const last: number[] = [];
  let n = 0;
  for (const b of bs) {
    const set = w.push(b);
    n += set.n;
    x.push(...set.x);
    t.push(...set.t);
    truth.push(...set.truth);
    last.push(...set.last);
  }
  return { n, x, t, truth, last, skipped: w.skipped };
}

describe("batch windows", () => {
  const s = series(2000);
  const expected = whole(s);

  it("the series has gaps and NaN cells, so windows are left out for both reasons", () => {
    expect(expected.gap).toBeGreaterThan(50);
    expect(expected.nonFinite).toBeGreaterThan(50);
    expect(expected.starts.length).toBeGreaterThan(1000);
  });

  for (const sizes of [[2000], [1], [7], [8, 3, 500], [2048]]) {
    it(`blocks of ${sizes.join("/")} rows give the windows of the whole series`, () => {
      const got = collect(blocks(s, sizes));
      expect(got.n).toBe(expected.starts.length);
      expect(got.x).toEqual([...expected.inputs.x]);
      expect(got.t).toEqual([...expected.inputs.t]);
      expect(got.truth.map((v) => (Number.isNaN(v) ? "NaN" : v))).toEqual(
        [...expected.targets.truth].map((v) => (Number.isNaN(v) ? "NaN" : v)),
      );
      expect(got.last.map(String)).toEqual([...expected.targets.last].map(String));
      expect(got.skipped).toEqual({ gap: expected.gap, non_finite: expected.nonFinite });
    });
  }

  it("error sums equal the evaluate scorer over the windows whose actual is finite", () => {
    const { truth, last } = expected.targets;
    const pred = Float64Array.from(truth, (v, i) => (Number.isFinite(v) ? v + ((i % 5) - 2) * 0.7 : 0));
    const sums = new ErrorSums(["b"], shape.horizon);
    // in two pieces, as score.ts adds batch by batch
    const half = Math.floor(expected.starts.length / 2);
    sums.add(pred.subarray(0, half * 2), truth.subarray(0, half * 2), last.subarray(0, half));
    sums.add(pred.subarray(half * 2), truth.subarray(half * 2), last.subarray(half));
    const finite = [...truth.keys()].filter((i) => Number.isFinite(truth[i] as number));
    expect(finite.length).toBeLessThan(truth.length);
    const pick = (arr: ArrayLike<number>) => finite.map((i) => arr[i] as number);
    const persist = persistencePredictions(last, 1, shape.horizon);
    const model = perTargetMetrics(pick(pred), pick(truth), ["b"]);
    const baseline = perTargetMetrics(pick(persist), pick(truth), ["b"]);
    expect(sums.model().b?.mae).toBeCloseTo(model.b?.mae as number, 9);
    expect(sums.model().b?.rmse).toBeCloseTo(model.b?.rmse as number, 9);
    expect(sums.persistence().b?.mse).toBeCloseTo(baseline.b?.mse as number, 6);
    expect(sums.scored("b")).toBe(finite.length);
    expect(maeRatio(sums.model(), sums.persistence()).b).toBeCloseTo(
      (model.b?.mae as number) / (baseline.b?.mae as number),
      9,
    );
  });
});
