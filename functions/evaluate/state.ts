/**
 * Evaluation state in S3 (functions are stateless): every `model-training` status a run reached is a
 * write-once object, so redeliveries and concurrent consumers agree.
 * `evaluations/<identifier>/<config_hash>/`: `started.json`, `runs/<run_id>.<STATUS>.json`,
 * `decision.json` (written once), `published.json`.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { type ModelTrainingMessage, type ModelType, RunStatusRecord } from "../common/contracts.ts";
import { getJson, getJsonIfExists, listKeys, putIfAbsent } from "../common/s3.ts";

export const evaluationKeys = {
  prefix: (identifier: string, configHash: string) => `evaluations/${identifier}/${configHash}/`,
  started: (identifier: string, configHash: string) => `evaluations/${identifier}/${configHash}/started.json`,
  status: (identifier: string, configHash: string, runId: string, status: string) =>
    `evaluations/${identifier}/${configHash}/runs/${runId}.${status}.json`,
  runsPrefix: (identifier: string, configHash: string) => `evaluations/${identifier}/${configHash}/runs/`,
  decision: (identifier: string, configHash: string) =>
    `evaluations/${identifier}/${configHash}/decision.json`,
  published: (identifier: string, configHash: string) =>
    `evaluations/${identifier}/${configHash}/published.json`,
};

const Started = z.object({ started_at: z.string() });

export interface RunState {
  run_id: string;
  model_type: ModelType;
  status: "RUNNING" | "SUCCESS" | "FAILED";
  /** When the run was first seen (RUNNING, or its terminal status if that came first). */
  first_seen: string;
  /** When it became terminal. */
  finished_at: string | null;
  terminal: ModelTrainingMessage | null;
}

/** Records one status (idempotent) and the evaluation's start; returns the start time. */
export async function recordStatus(
  s3: S3Client,
  bucket: string,
  message: ModelTrainingMessage,
  now = new Date(),
): Promise<string> {
  const { identifier, config_hash } = message;
  const record: RunStatusRecord = { message, received_at: now.toISOString() };
  await putIfAbsent(
    s3,
    bucket,
    evaluationKeys.status(identifier, config_hash, message.run_id, message.status),
    JSON.stringify(record),
  );
  const startedKey = evaluationKeys.started(identifier, config_hash);
  await putIfAbsent(s3, bucket, startedKey, JSON.stringify({ started_at: now.toISOString() }));
  return (await getJson(s3, bucket, startedKey, Started)).started_at;
}

/** Every run seen for (identifier, config_hash), with its latest status. */
export async function loadRunStates(
  s3: S3Client,
  bucket: string,
  identifier: string,
  configHash: string,
): Promise<RunState[]> {
  const keys = await listKeys(s3, bucket, evaluationKeys.runsPrefix(identifier, configHash));
  const runs = new Map<string, RunState>();
  for (const key of keys.sort()) {
    const doc = await getJsonIfExists(s3, bucket, key, RunStatusRecord);
    if (!doc) continue;
    const m = doc.message;
    const prev = runs.get(m.run_id);
    const first = prev && prev.first_seen < doc.received_at ? prev.first_seen : doc.received_at;
    if (m.status === "RUNNING") {
      runs.set(
        m.run_id,
        prev
          ? { ...prev, first_seen: first }
          : {
              run_id: m.run_id,
              model_type: m.model_type,
              status: "RUNNING",
              first_seen: first,
              finished_at: null,
              terminal: null,
            },
      );
    } else {
      // A terminal status wins over RUNNING; between two terminal ones, FAILED (a later check) wins.
      const keep = prev?.terminal && prev.terminal.status === "FAILED";
      runs.set(
        m.run_id,
        keep && prev
          ? { ...prev, first_seen: first }
          : {
              run_id: m.run_id,
              model_type: m.model_type,
              status: m.status,
              first_seen: first,
              finished_at: doc.received_at,
              terminal: m,
            },
      );
    }
  }
  return [...runs.values()];
}

export interface Readiness {
  ready: boolean;
  deadlinePassed: boolean;
  /** Expected types with no terminal run yet. */
  pending: ModelType[];
}

/** Ready when every expected type has a terminal latest run, or the deadline has passed. */
export function readiness(
  expected: readonly ModelType[],
  runs: readonly RunState[],
  startedAt: string,
  deadlineSeconds: number,
  now = new Date(),
): Readiness {
  const pending = expected.filter((type) => {
    const ofType = runs
      .filter((r) => r.model_type === type)
      .sort((a, b) => (a.first_seen < b.first_seen ? -1 : 1));
    const latest = ofType[ofType.length - 1];
    return !latest || latest.status === "RUNNING";
  });
  const deadlinePassed = now.getTime() - Date.parse(startedAt) >= deadlineSeconds * 1000;
  return {
    ready: pending.length === 0 || deadlinePassed,
    deadlinePassed: pending.length > 0 && deadlinePassed,
    pending,
  };
}
