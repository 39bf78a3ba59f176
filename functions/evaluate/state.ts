/**
 * Evaluation state in S3 (functions are stateless): every `model-training` status a run reached is a
 * write-once object, so redeliveries and concurrent consumers agree.
 * `evaluations/<identifier>/<config_hash>/`: `runs/<run_id>.<STATUS>.json`; per *generation* (the
 * set of the newest run of each expected type) `decisions/<generation>.json` (written once) and
 * `decisions/<generation>.published.json`; `decision.json` and `published.json` copy the latest.
 * A retried type makes a new generation, which gets its own decision; a redelivery never does.
 * `decisions/<generation>.claim-<n>.json` (write-once) names the one finalizer that publishes it.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { type ModelTrainingMessage, type ModelType, RunStatusRecord } from "../common/contracts.ts";
import { sha256Hex } from "../common/hash.ts";
import { evaluationKeys } from "../common/keys.ts";
import { getJsonIfExists, listKeys, putIfAbsent } from "../common/s3.ts";

/** `decisions/<generation>.claim-<n>.json`: the finalizer that carries out (and publishes) a decision. */
export const PublicationClaim = z.object({
  generation: z.string(),
  slot: z.number().int().positive(),
  claimed_at: z.string(),
});
export type PublicationClaim = z.infer<typeof PublicationClaim>;

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

/** Records one status of a run (write-once, so a redelivery changes nothing). */
export async function recordStatus(
  s3: S3Client,
  bucket: string,
  message: ModelTrainingMessage,
  now = new Date(),
): Promise<void> {
  const { identifier, config_hash } = message;
  const record: RunStatusRecord = { message, received_at: now.toISOString() };
  await putIfAbsent(
    s3,
    bucket,
    evaluationKeys.status(identifier, config_hash, message.run_id, message.status),
    JSON.stringify(record),
  );
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

/** The newest run (by first sighting) of each expected type that has one. */
export function latestPerType(expected: readonly ModelType[], runs: readonly RunState[]): RunState[] {
  const out: RunState[] = [];
  for (const type of expected) {
    const ofType = runs.filter((r) => r.model_type === type);
    const latest = ofType.reduce<RunState | null>(
      (best, r) =>
        best === null ||
        r.first_seen > best.first_seen ||
        (r.first_seen === best.first_seen && r.run_id > best.run_id)
          ? r
          : best,
      null,
    );
    if (latest) out.push(latest);
  }
  return out;
}

/** Names a set of runs: the same runs always give the same generation. */
export function generationOf(runIds: readonly string[]): string {
  return sha256Hex([...runIds].sort().join("\n")).slice(0, 16);
}

/** Where a group stands: the newest run of each expected type, and the generation they make. */
export function currentGeneration(
  expected: readonly ModelType[],
  runs: readonly RunState[],
): { latest: RunState[]; generation: string } {
  const latest = latestPerType(expected, runs);
  return { latest, generation: generationOf(latest.map((r) => r.run_id)) };
}

export interface Readiness {
  ready: boolean;
  deadlinePassed: boolean;
  /** Expected types with no terminal run yet. */
  pending: ModelType[];
}

/**
 * Ready when the newest run of every expected type is terminal, or when EVAL_DEADLINE_SECONDS have
 * passed since the newest of those runs was first seen (a retry restarts the clock).
 */
export function readiness(
  expected: readonly ModelType[],
  runs: readonly RunState[],
  deadlineSeconds: number,
  now = new Date(),
): Readiness {
  const latest = latestPerType(expected, runs);
  const pending = expected.filter((type) => {
    const run = latest.find((r) => r.model_type === type);
    return !run || run.status === "RUNNING";
  });
  const since = Math.max(...latest.map((r) => Date.parse(r.first_seen)));
  const deadlinePassed = Number.isFinite(since) && now.getTime() - since >= deadlineSeconds * 1000;
  return {
    ready: pending.length === 0 || deadlinePassed,
    deadlinePassed: pending.length > 0 && deadlinePassed,
    pending,
  };
}
