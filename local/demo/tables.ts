/** The demo's closing tables: the scoreboard per target and the forecast. */
import type { ScoreboardEntry } from "../../functions/common/contracts.ts";
import { table } from "../table.ts";

const fmt = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? "-" : v >= 1000 ? v.toFixed(0) : v.toPrecision(4);

/** Candidates and the persistence baseline, MAE and RMSE per target in raw units, the promoted run marked. */
export function scoreboardTable(scoreboard: ScoreboardEntry[], promotedRunId: string | null): string {
  const targets = [...new Set(scoreboard.flatMap((e) => Object.keys(e.per_target ?? {})))];
  const header = [
    "",
    "model",
    "kind",
    "status",
    "score",
    ...targets.flatMap((t) => [`${t} MAE`, `${t} RMSE`]),
  ];
  const rows = scoreboard
    .filter((e) => e.kind !== "champion" || e.run_id !== promotedRunId)
    .map((e) => [
      e.kind === "candidate" && e.run_id === promotedRunId ? "*" : "",
      e.model_type,
      e.kind,
      e.status,
      fmt(e.score),
      ...targets.flatMap((t) => [fmt(e.per_target?.[t]?.mae), fmt(e.per_target?.[t]?.rmse)]),
    ]);
  return table([header, ...rows]);
}

export interface Forecast {
  run_id: string;
  model_type: string;
  predictions: Record<string, string | number>[];
}

export function forecastTable(forecast: Forecast): string {
  const columns = [...new Set(forecast.predictions.flatMap((p) => Object.keys(p)))];
  return table([
    columns,
    ...forecast.predictions.map((p) =>
      columns.map((c) => (typeof p[c] === "number" ? fmt(p[c] as number) : String(p[c] ?? ""))),
    ),
  ]);
}
