/**
 * sweeper: one pass over the artifacts bucket. Every run without `_SUCCESS` or `_FAILED` whose lease
 * expired gets `_FAILED` with the reason (train-complete then reports it, so evaluate and re-runs go
 * on); then evaluation deadlines are enforced (deadline.ts). Runs on a schedule: EventBridge in AWS,
 * a timer in the local runtime.
 */
import type { StageContext } from "../common/context.ts";
import { RunRecord } from "../common/contracts.ts";
import { parseRunKey, RUN_FILES, RUNS_PREFIX, runKeys } from "../common/keys.ts";
import { getJsonIfExists, listKeys } from "../common/s3.ts";
import { enforceDeadlines, type Nudged } from "./deadline.ts";
import { failRun, inspectRun } from "./lease.ts";
import { loadSweepSettings, type SweepSettings } from "./settings.ts";

/**
 * One tick: EventBridge's scheduled event in AWS (its fields are not used); the local runtime passes
 * `accepts` when it is scoped to some identifiers (a test's or a CLI run's), so it sweeps only those.
 */
export interface ScheduleTick {
  time?: string;
  accepts?: (identifier: string) => boolean;
}

export interface SweepResult {
  /** Runs without a marker that were looked at. */
  open: number;
  expired: { run_id: string; reason: string }[];
  nudged: Nudged[];
}

/** Run ids under `runs/` that have a run.json and neither marker, from one listing. */
export function openRunIds(keys: readonly string[]): string[] {
  const runs = new Map<string, Set<string>>();
  for (const key of keys) {
    const run = parseRunKey(key);
    if (!run) continue;
    const { runId, file } = run;
    const names = runs.get(runId) ?? new Set<string>();
    names.add(file);
    runs.set(runId, names);
  }
  return [...runs.entries()]
    .filter(([, n]) => n.has(RUN_FILES.record) && !n.has(RUN_FILES.success) && !n.has(RUN_FILES.failed))
    .map(([id]) => id)
    .sort();
}

export async function expireRuns(
  ctx: StageContext,
  settings: SweepSettings,
  now: Date,
  accepts?: (identifier: string) => boolean,
): Promise<Pick<SweepResult, "open" | "expired">> {
  const bucket = ctx.config.storage.buckets.artifacts;
  const open = openRunIds(await listKeys(ctx.s3, bucket, RUNS_PREFIX));
  const expired: SweepResult["expired"] = [];
  for (const runId of open) {
    if (accepts) {
      const record = await getJsonIfExists(ctx.s3, bucket, runKeys.record(runId), RunRecord).catch(
        () => null,
      );
      if (!record || !accepts(record.identifier)) continue;
    }
    const lease = await inspectRun(ctx.s3, bucket, runId, settings.lease, now);
    if (lease.state !== "expired") continue;
    if (await failRun(ctx.s3, bucket, runId, lease.model_type, lease.reason)) {
      ctx.logger.warn("sweeper_run_expired", {
        run_id: runId,
        model_type: lease.model_type,
        reason: lease.reason,
      });
      expired.push({ run_id: runId, reason: lease.reason });
    }
  }
  return { open: open.length, expired };
}

export async function sweep(
  tick: ScheduleTick | null,
  ctx: StageContext,
  settings: SweepSettings = loadSweepSettings(ctx.env),
  now: Date = new Date(),
): Promise<SweepResult> {
  const accepts = typeof tick?.accepts === "function" ? tick.accepts : undefined;
  const runs = await expireRuns(ctx, settings, now, accepts);
  const nudged = await enforceDeadlines(ctx, settings, now, accepts);
  ctx.logger.debug("sweep_done", { open: runs.open, expired: runs.expired.length, nudged: nudged.length });
  return { ...runs, nudged };
}
