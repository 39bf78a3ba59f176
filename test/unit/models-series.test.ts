import { describe, expect, it } from "vitest";
import { evaluationKeys } from "../../functions/common/keys.ts";
import type { TestSet } from "../../functions/evaluate/score-run.ts";
import { buildSeries, decodeSeries, encodeSeries } from "../../functions/evaluate/series.ts";

/** Three windows of 2 rows, horizon 2, targets a and b. */
function testSet(): TestSet {
  const times = Float64Array.from([0, 120, 240, 360, 480, 600]);
  return {
    series: { times, columns: new Map() },
    window: 2,
    horizon: 2,
    targets: ["a", "b"],
    starts: [0, 1, 2],
    // [window, horizon, target]
    truth: Float64Array.from([1, 10, 2, 20, 2, 20, 3, 30, 3, 30, 4, 40]),
    last: Float64Array.from([0.5, 5, 1, 10, 2, 20]),
    stds: { a: 1, b: 1 },
    stepSeconds: 120,
  };
}

describe("per-window forecast series (functions/evaluate/series.ts)", () => {
  it("keeps the first forecast step of actual, each candidate and persistence, and round-trips", () => {
    const pred = Float32Array.from([1.5, 11, 9, 9, 2.5, 21, 9, 9, 3.5, 31, 9, 9]);
    const series = buildSeries(testSet(), [{ run_id: "r1", model_type: "GRU", pred }]);
    expect(series.header.series.map((s) => s.name)).toEqual(["actual", "r1", "persistence"]);
    expect([...series.ts]).toEqual([240, 360, 480]);
    expect([...(series.values[0] as Float32Array)]).toEqual([1, 10, 2, 20, 3, 30]);
    expect([...(series.values[1] as Float32Array)]).toEqual([1.5, 11, 2.5, 21, 3.5, 31]);
    expect([...(series.values[2] as Float32Array)]).toEqual([0.5, 5, 1, 10, 2, 20]);

    const bytes = encodeSeries(series);
    expect(bytes.length).toBeLessThan(400);
    const back = decodeSeries(bytes);
    expect(back.header).toEqual(series.header);
    expect([...back.ts]).toEqual([...series.ts]);
    expect(back.values.map((v) => [...v])).toEqual(series.values.map((v) => [...v]));
  });

  it("names the champion it was compared with as such", () => {
    const pred = new Float32Array(12);
    const series = buildSeries(testSet(), [{ run_id: "old", model_type: "LSTM", pred, kind: "champion" }]);
    expect(series.header.series[1]).toEqual({ name: "old", kind: "champion", model_type: "LSTM" });
    expect(decodeSeries(encodeSeries(series)).header.series[1]?.kind).toBe("champion");
  });

  it("refuses bytes that are not a series file", () => {
    expect(() => decodeSeries(new TextEncoder().encode("PAR1 not this"))).toThrow(/not a FLTS series/);
  });

  it("lives beside the generation's decision", () => {
    expect(evaluationKeys.seriesFor("Id", "h".repeat(64), "0123456789abcdef")).toBe(
      `evaluations/Id/${"h".repeat(64)}/decisions/0123456789abcdef.series.bin`,
    );
  });
});
