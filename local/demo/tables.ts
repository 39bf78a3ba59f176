/** The demo's closing tables: the scoreboard per target and the forecast. */
import type { ScoreboardEntry } from "../../functions/common/contracts.ts";
import { table } from "../table.ts";

const fmt = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? "-" : v >= 1000 ? v.toFixed(0) : v.toPrecision(4);

/**
 * Candidates and the baselines, MAE and RMSE per target in raw units, MAE over persistence's at the
 * first and last reported step, the promoted run marked.
 */
export function scoreboardTable(scoreboard: ScoreboardEntry[], promotedRunId: string | null): string {
  const targets = [...new Set(scoreboard.flatMap((e) => Object.keys(e.per_target ?? {})))];
  const steps = [
    ...new Set(scoreboard.flatMap((e) => Object.keys(Object.values(e.ratio_to_persistence ?? {})[0] ?? {}))),
  ];
  const reported = [...new Set([steps[0], steps[steps.length - 1]])].filter((s) => s !== undefined);
  const header = [
    "",
    "model",
    "kind",
    "status",
    "score",
    ...targets.flatMap((t) => [`${t} MAE`, `${t} RMSE`, ...reported.map((s) => `${t} MAE/p @${s}`)]),
  ];
  const rows = scoreboard
    .filter((e) => e.kind !== "champion" || e.run_id !== promotedRunId)
    .map((e) => [
      e.kind === "candidate" && e.run_id === promotedRunId ? "*" : "",
      e.model_type,
      e.kind,
      e.status,
      fmt(e.score),
      ...targets.flatMap((t) => [
        fmt(e.per_target?.[t]?.mae),
        fmt(e.per_target?.[t]?.rmse),
        ...reported.map((s) => fmt(e.ratio_to_persistence?.[t]?.[s]?.mae)),
      ]),
    ]);
  return table([header, ...rows]);
}

export interface Forecast {
  run_id: string;
  model_type: string;
  predictions: Prediction[];
}

/** One step of a /predict answer: `ts`, one value per target and, when asked for, `quantiles` per target and level. */
type Prediction = Record<string, string | number | Record<string, Record<string, number>>>;

/**
 * One row per step: its time, each target's forecast and, where the answer has quantiles, the outermost
 * interval of each target as `low–high`.
 */
export function forecastTable(forecast: Forecast): string {
  const values = [...new Set(forecast.predictions.flatMap((p) => Object.keys(p)))].filter(
    (c) => c !== "quantiles",
  );
  const bands = (p: Prediction) => (p.quantiles ?? {}) as Record<string, Record<string, number>>;
  const targets = [...new Set(forecast.predictions.flatMap((p) => Object.keys(bands(p))))];
  const band = (levels: Record<string, number> | undefined) => {
    const keys = Object.keys(levels ?? {}).sort((a, b) => Number(a) - Number(b));
    const low = keys[0];
    const high = keys.at(-1);
    return levels && low !== undefined && high !== undefined
      ? `${fmt(levels[low] as number)}–${fmt(levels[high] as number)}`
      : "";
  };
  const levelsOf = (t: string) =>
    Object.keys(bands(forecast.predictions[0] ?? {})[t] ?? {}).sort((a, b) => Number(a) - Number(b));
  return table([
    [...values, ...targets.map((t) => `${t} ${levelsOf(t)[0] ?? ""}–${levelsOf(t).at(-1) ?? ""}`)],
    ...forecast.predictions.map((p) => [
      ...values.map((c) => (typeof p[c] === "number" ? fmt(p[c] as number) : String(p[c] ?? ""))),
      ...targets.map((t) => band(bands(p)[t])),
    ]),
  ]);
}
