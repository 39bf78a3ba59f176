/**
 * The lease of a run: the one rule for "is this run dead". A run without `_SUCCESS` or `_FAILED` is
 * alive while its trainer heartbeats into `runs/<run_id>/heartbeat.json` (functions/train/src/
 * flts_train/heartbeat.py) at least every RUN_LEASE_SECONDS. Before its first heartbeat (queued,
 * an ECS task being placed) it is given RUN_START_LEASE_SECONDS from run.json's `created_at`.
 * The sweeper and train-dispatch both ask `inspectRun`; an expired run gets `_FAILED` with the reason.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { Heartbeat, type ModelType, RunRecord } from "../common/contracts.ts";
import { runKeys } from "../common/keys.ts";
import { exists, getJsonIfExists, putIfAbsent } from "../common/s3.ts";

/** Loaded by loadLeaseSettings (functions/sweeper/settings.ts). */
export interface LeaseSettings {
  /** Longest silence after a heartbeat before the run counts as dead. */
  leaseSeconds: number;
  /** Longest wait from dispatch (run.json's created_at) to the first heartbeat. */
  startLeaseSeconds: number;
}

export type LeaseVerdict =
  | { expired: false; silentSeconds: number }
  | { expired: true; silentSeconds: number; reason: string };

/** The lease rule, pure: silent since the last heartbeat (or since dispatch, before the first one). */
export function leaseVerdict(
  createdAt: string,
  heartbeatAt: string | null,
  settings: LeaseSettings,
  now: Date,
): LeaseVerdict {
  const since = Date.parse(heartbeatAt ?? createdAt);
  if (!Number.isFinite(since))
    return {
      expired: true,
      silentSeconds: Number.POSITIVE_INFINITY,
      reason: `lease expired: the run record's created_at '${createdAt}' is not a time`,
    };
  const silentSeconds = Math.max(0, (now.getTime() - since) / 1000);
  const allowance = heartbeatAt ? settings.leaseSeconds : settings.startLeaseSeconds;
  if (silentSeconds < allowance) return { expired: false, silentSeconds };
  const silent = Math.round(silentSeconds);
  return {
    expired: true,
    silentSeconds,
    reason: heartbeatAt
      ? `lease expired: no heartbeat for ${silent} s (RUN_LEASE_SECONDS=${settings.leaseSeconds})`
      : `lease expired: no heartbeat for ${silent} s since dispatch (RUN_START_LEASE_SECONDS=${settings.startLeaseSeconds})`,
  };
}

export type RunLease =
  | { state: "finished"; marker: "_SUCCESS" | "_FAILED" }
  | { state: "alive"; silentSeconds: number }
  | { state: "expired"; reason: string; model_type: ModelType | null };

/**
 * Where a run stands. `fallback` stands in for a missing run.json (a dispatch that died between its
 * guard and its record): the guard's time and type.
 */
export async function inspectRun(
  s3: S3Client,
  bucket: string,
  runId: string,
  settings: LeaseSettings,
  now: Date,
  fallback: { created_at: string; model_type: ModelType } | null = null,
): Promise<RunLease> {
  if (await exists(s3, bucket, runKeys.success(runId))) return { state: "finished", marker: "_SUCCESS" };
  if (await exists(s3, bucket, runKeys.failed(runId))) return { state: "finished", marker: "_FAILED" };
  const record = await getJsonIfExists(s3, bucket, runKeys.record(runId), RunRecord);
  const origin = record ?? fallback;
  if (!origin) return { state: "alive", silentSeconds: 0 };
  let heartbeat: Heartbeat | null = null;
  try {
    heartbeat = await getJsonIfExists(s3, bucket, runKeys.heartbeat(runId), Heartbeat);
  } catch {
    heartbeat = null; // an unreadable heartbeat is no sign of life
  }
  const verdict = leaseVerdict(origin.created_at, heartbeat?.at ?? null, settings, now);
  return verdict.expired
    ? { state: "expired", reason: verdict.reason, model_type: origin.model_type }
    : { state: "alive", silentSeconds: verdict.silentSeconds };
}

/**
 * Writes `_FAILED` for a run (never over a marker already there); train-complete then reports it.
 * Returns false when a marker was written first.
 */
export async function failRun(
  s3: S3Client,
  bucket: string,
  runId: string,
  modelType: ModelType | null,
  error: string,
): Promise<boolean> {
  if (await exists(s3, bucket, runKeys.success(runId))) return false;
  return putIfAbsent(
    s3,
    bucket,
    runKeys.failed(runId),
    JSON.stringify({ run_id: runId, model_type: modelType, error }),
  );
}
