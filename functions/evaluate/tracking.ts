/**
 * Optional MLflow sink of evaluate, on when MLFLOW_TRACKING_URI is set: after a decision is carried
 * out, the MLflow run of each scored candidate (the trainer's, found by its tag `flts.run_id` in the
 * experiment MLFLOW_EXPERIMENT_NAME, default `flts`) gets its scoreboard numbers as metrics
 * (`eval.score|rmse|mae|mse`, `eval.<target>.<metric>` and its ratio to persistence, the baseline's
 * and the champion's score) and tags (`flts.eval.status`, `flts.promoted` true on the promoted run and
 * false on the others, the decision's generation and reason). Over MLflow's REST API 2.0; S3 stays the
 * record: a failure logs `mlflow_tracking_failed` and never fails the stage.
 */
import type { StageContext } from "../common/context.ts";
import type { EvaluationDecision, ScoreboardEntry } from "../common/contracts.ts";
import type { Env } from "../common/settings.ts";
import { loadEvaluateSettings } from "./settings.ts";

type Fetch = typeof fetch;
interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}
interface Tag {
  key: string;
  value: string;
}

const TIMEOUT_MS = 10_000;

export class TrackingError extends Error {}

/** The validated MLFLOW_TRACKING_URI without a trailing slash, or null when tracking is off. */
export function trackingBase(env: Env): string | null {
  const raw = loadEvaluateSettings(env).trackingUri;
  if (raw === "") return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL("invalid:");
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.host === "" || url.search || url.hash)
    throw new TrackingError(
      `MLFLOW_TRACKING_URI must be the http(s):// URL of an MLflow tracking server, got '${raw}'`,
    );
  return raw.replace(/\/+$/, "");
}

async function call(base: string, endpoint: string, body: unknown, fetchImpl: Fetch): Promise<unknown> {
  const get = body === undefined;
  const response = await fetchImpl(`${base}/api/2.0/mlflow/${endpoint}`, {
    method: get ? "GET" : "POST",
    headers: get ? undefined : { "content-type": "application/json" },
    body: get ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  const doc = (text.trim() ? JSON.parse(text) : {}) as { error_code?: string; message?: string };
  if (response.ok) return doc;
  if (doc.error_code === "RESOURCE_DOES_NOT_EXIST") return null;
  throw new TrackingError(
    `${endpoint}: HTTP ${response.status} ${doc.error_code ?? ""} ${doc.message ?? text.slice(0, 300)}`,
  );
}

/** The filter of `runs/search` for the MLflow run of an FLTS run (run ids are `[A-Za-z0-9._-]`). */
export function runFilter(runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId))
    throw new TrackingError(`run_id '${runId}' is not a run id`);
  return `tags.\`flts.run_id\` = '${runId}'`;
}

const finite = (key: string, value: number | null | undefined, timestamp: number): Metric[] =>
  typeof value === "number" && Number.isFinite(value) ? [{ key, value, timestamp, step: 0 }] : [];

/** What a candidate's MLflow run gets from the decision. */
export function decisionEntities(
  decision: EvaluationDecision,
  entry: ScoreboardEntry,
  timestamp: number,
): { metrics: Metric[]; tags: Tag[] } {
  const baseline = decision.baseline;
  const champion = decision.scoreboard.find((e) => e.kind === "champion");
  const metrics = [
    ...finite("eval.score", entry.score, timestamp),
    ...finite("eval.rmse", entry.rmse, timestamp),
    ...finite("eval.mae", entry.mae, timestamp),
    ...finite("eval.mse", entry.mse, timestamp),
    ...finite("eval.baseline_score", baseline.score, timestamp),
    ...finite("eval.champion_score", champion?.score, timestamp),
    ...finite("eval.n_test_windows", decision.n_test_windows, timestamp),
  ];
  for (const [target, m] of Object.entries(entry.per_target ?? {})) {
    const base = baseline.per_target?.[target];
    for (const k of ["mae", "rmse", "mse"] as const) {
      metrics.push(...finite(`eval.${target}.${k}`, m[k], timestamp));
      if (base && base[k] > 0)
        metrics.push(...finite(`eval.${target}.${k}_ratio`, m[k] / base[k], timestamp));
    }
  }
  const promoted = decision.promoted && decision.pointer?.run_id === entry.run_id;
  const tags: Tag[] = [
    { key: "flts.eval.status", value: entry.status },
    { key: "flts.promoted", value: String(promoted) },
    { key: "flts.decision.generation", value: decision.generation },
    { key: "flts.decision.reason", value: decision.reason.slice(0, 8000) },
  ];
  if (decision.winner?.run_id === entry.run_id) tags.push({ key: "flts.eval.winner", value: "true" });
  return { metrics, tags };
}

async function experimentId(base: string, name: string, fetchImpl: Fetch): Promise<string | null> {
  const query = new URLSearchParams({ experiment_name: name });
  const doc = (await call(base, `experiments/get-by-name?${query}`, undefined, fetchImpl)) as {
    experiment?: { experiment_id?: string };
  } | null;
  return doc?.experiment?.experiment_id ?? null;
}

async function findRun(base: string, experiment: string, runId: string, fetchImpl: Fetch) {
  const body = { experiment_ids: [experiment], filter: runFilter(runId), max_results: 1 };
  const doc = (await call(base, "runs/search", body, fetchImpl)) as {
    runs?: { info: { run_id: string } }[];
  } | null;
  return doc?.runs?.[0]?.info.run_id ?? null;
}

/** Logs the decision on the candidates' MLflow runs; never throws (a failure is a warning). */
export async function trackDecision(
  ctx: Pick<StageContext, "env" | "logger">,
  decision: EvaluationDecision,
  fetchImpl: Fetch = fetch,
): Promise<void> {
  const { identifier, config_hash } = decision;
  try {
    const base = trackingBase(ctx.env);
    if (base === null) return;
    const name = loadEvaluateSettings(ctx.env).experimentName;
    const experiment = await experimentId(base, name, fetchImpl);
    const candidates = decision.scoreboard.filter((e) => e.kind === "candidate" && e.run_id !== "-");
    const tracked: string[] = [];
    const untracked: string[] = [];
    for (const entry of candidates) {
      const run = experiment === null ? null : await findRun(base, experiment, entry.run_id, fetchImpl);
      if (run === null) {
        untracked.push(entry.run_id);
        continue;
      }
      const body = { run_id: run, ...decisionEntities(decision, entry, Date.now()), params: [] };
      await call(base, "runs/log-batch", body, fetchImpl);
      tracked.push(entry.run_id);
    }
    ctx.logger.info("mlflow_decision_logged", {
      identifier,
      config_hash,
      experiment: name,
      tracked,
      untracked,
    });
  } catch (error) {
    ctx.logger.warn("mlflow_tracking_failed", {
      identifier,
      config_hash,
      error: (error as Error).message,
    });
  }
}
