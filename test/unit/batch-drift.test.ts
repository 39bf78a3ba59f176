/** monitor's drift rule: live MAE ratio over the ratio at promotion, against the threshold. */
import { describe, expect, it } from "vitest";
import { driftRule } from "../../functions/monitor/drift.ts";
import { loadMonitorSettings } from "../../functions/monitor/settings.ts";

describe("drift rule", () => {
  it("drifts a target whose ratio grew past the threshold, and only that one", () => {
    const rule = driftRule({ down: 1.2, up: 0.9 }, { down: 1.0, up: 0.85 }, 1.15);
    expect(rule.drifted).toBe(true);
    expect(rule.targets.down).toEqual({ live_ratio: 1.2, reference_ratio: 1.0, change: 1.2, drifted: true });
    expect(rule.targets.up?.drifted).toBe(false);
    expect(rule.targets.up?.change).toBeCloseTo(0.9 / 0.85, 12);
  });

  it("exactly at the threshold is not drift; a better model is not drift", () => {
    expect(driftRule({ down: 1.15 }, { down: 1 }, 1.15).drifted).toBe(false);
    expect(driftRule({ down: 0.5 }, { down: 1 }, 1.15).drifted).toBe(false);
  });

  it("a target without both ratios cannot drift", () => {
    const rule = driftRule({ down: null, up: 3 }, { down: 1, up: null }, 1.15);
    expect(rule.drifted).toBe(false);
    expect(rule.targets.down?.change).toBeNull();
    expect(rule.targets.up?.change).toBeNull();
    expect(driftRule({ down: 3 }, { down: 0 }, 1.15).drifted).toBe(false);
  });

  it("DRIFT_RATIO_THRESHOLD defaults to 1.15 and is validated by name", () => {
    expect(loadMonitorSettings({}).threshold).toBe(1.15);
    expect(loadMonitorSettings({ DRIFT_RATIO_THRESHOLD: "1.5" }).threshold).toBe(1.5);
    expect(() => loadMonitorSettings({ DRIFT_RATIO_THRESHOLD: "0.9" })).toThrow(/DRIFT_RATIO_THRESHOLD/);
    expect(() => loadMonitorSettings({ DRIFT_RATIO_THRESHOLD: "x" })).toThrow(/DRIFT_RATIO_THRESHOLD/);
  });
});
