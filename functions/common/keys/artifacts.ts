/** model-artifacts keys: runs, guards and evaluations (layout: functions/common/keys.ts). */
import { GENERATION, HASH, matcher, NAME } from "./segments.ts";

export const RUNS_PREFIX = "runs/";
export const GUARDS_PREFIX = "guards/";
export const EVALUATIONS_PREFIX = "evaluations/";

/** The files of `runs/<run_id>/`; the Python trainer writes its own under these names (test/unit/keys.test.ts). */
export const RUN_FILES = {
  job: "job.json",
  record: "run.json",
  heartbeat: "heartbeat.json",
  onnx: "model.onnx",
  card: "model.json",
  metrics: "metrics.json",
  /** The fit-part model's validation-slice predictions (numpy savez: y, start, out_of_sample), when it made them. */
  validation: "validation.npz",
  success: "_SUCCESS",
  failed: "_FAILED",
} as const;
export type RunMarker = typeof RUN_FILES.success | typeof RUN_FILES.failed;

const runFile = (name: string) => (runId: string) => `${RUNS_PREFIX}${runId}/${name}`;

export const runKeys = {
  prefix: runFile(""),
  job: runFile(RUN_FILES.job),
  record: runFile(RUN_FILES.record),
  heartbeat: runFile(RUN_FILES.heartbeat),
  onnx: runFile(RUN_FILES.onnx),
  card: runFile(RUN_FILES.card),
  metrics: runFile(RUN_FILES.metrics),
  validation: runFile(RUN_FILES.validation),
  success: runFile(RUN_FILES.success),
  failed: runFile(RUN_FILES.failed),
  marker: (runId: string, marker: RunMarker) => runFile(marker)(runId),
};

const runKey = matcher(`${RUNS_PREFIX}(${NAME})/([^/]+)`);

/** `runs/<run_id>/<file>` → its parts; null for anything else (deeper keys included). */
export function parseRunKey(key: string): { runId: string; file: string } | null {
  const m = runKey(key);
  return m ? { runId: m[0] as string, file: m[1] as string } : null;
}

/** `runs/<run_id>/_SUCCESS` or `_FAILED` → the run and its marker; null for any other key. */
export function parseMarkerKey(key: string): { runId: string; marker: RunMarker } | null {
  const run = parseRunKey(key);
  if (!run || (run.file !== RUN_FILES.success && run.file !== RUN_FILES.failed)) return null;
  return { runId: run.runId, marker: run.file };
}

export const guardKeys = {
  prefix: (configHash: string) => `${GUARDS_PREFIX}${configHash}/`,
  /** Attempt 1 holds `guards/<hash>/<type>.json`; a retry after a FAILED run holds `<type>.attempt-<n>.json`. */
  attempt: (configHash: string, type: string, attempt = 1) =>
    `${GUARDS_PREFIX}${configHash}/${type}${attempt === 1 ? "" : `.attempt-${attempt}`}.json`,
  /** The one ENSEMBLE run of an evaluation generation (never retried: its run id is the generation's). */
  ensemble: (configHash: string, generation: string) =>
    `${GUARDS_PREFIX}${configHash}/ENSEMBLE-${generation}.json`,
};

const guardKey = matcher(`${GUARDS_PREFIX}(${HASH})/([A-Z0-9_]+)(?:\\.attempt-([1-9][0-9]*))?\\.json`);

export function parseGuardKey(
  key: string,
): { configHash: string; modelType: string; attempt: number } | null {
  const m = guardKey(key);
  if (!m || m[2] === "1") return null;
  return { configHash: m[0] as string, modelType: m[1] as string, attempt: m[2] ? Number(m[2]) : 1 };
}

const evaluation = (identifier: string, configHash: string) =>
  `${EVALUATIONS_PREFIX}${identifier}/${configHash}/`;
const decisionFile = (identifier: string, configHash: string, generation: string, suffix: string) =>
  `${evaluation(identifier, configHash)}decisions/${generation}${suffix}`;

export const evaluationKeys = {
  identifierPrefix: (identifier: string) => `${EVALUATIONS_PREFIX}${identifier}/`,
  prefix: evaluation,
  runsPrefix: (identifier: string, configHash: string) => `${evaluation(identifier, configHash)}runs/`,
  status: (identifier: string, configHash: string, runId: string, status: string) =>
    `${evaluation(identifier, configHash)}runs/${runId}.${status}.json`,
  decision: (identifier: string, configHash: string) => `${evaluation(identifier, configHash)}decision.json`,
  published: (identifier: string, configHash: string) =>
    `${evaluation(identifier, configHash)}published.json`,
  decisionFor: (identifier: string, configHash: string, generation: string) =>
    decisionFile(identifier, configHash, generation, ".json"),
  publishedFor: (identifier: string, configHash: string, generation: string) =>
    decisionFile(identifier, configHash, generation, ".published.json"),
  claimFor: (identifier: string, configHash: string, generation: string, slot: number) =>
    decisionFile(identifier, configHash, generation, `.claim-${slot}.json`),
  nudgedFor: (identifier: string, configHash: string, generation: string) =>
    decisionFile(identifier, configHash, generation, ".nudged.json"),
  seriesFor: (identifier: string, configHash: string, generation: string) =>
    decisionFile(identifier, configHash, generation, ".series.bin"),
  /** Write-once: evaluate asked for this generation's ENSEMBLE (members, when). */
  ensembleFor: (identifier: string, configHash: string, generation: string) =>
    decisionFile(identifier, configHash, generation, ".ensemble.json"),
};

type StatusName = "RUNNING" | "SUCCESS" | "FAILED";

/** What one key under `evaluations/<identifier>/<config_hash>/` is. */
export type EvaluationEntry =
  | { kind: "status"; runId: string; status: StatusName }
  | { kind: "decision" | "published" | "nudged" | "series" | "ensemble"; generation: string }
  | { kind: "claim"; generation: string; slot: number }
  | { kind: "latest-decision" | "latest-published" };

const evaluationKey = matcher(`${EVALUATIONS_PREFIX}(${NAME})/(${HASH})/(.+)`);
const statusFile = matcher(`runs/(${NAME})\\.(RUNNING|SUCCESS|FAILED)\\.json`);
const decisionEntry = matcher(
  `decisions/(${GENERATION})(\\.json|\\.published\\.json|\\.nudged\\.json|\\.series\\.bin|\\.ensemble\\.json|\\.claim-[1-9][0-9]*\\.json)`,
);
const DECISION_KINDS = {
  ".json": "decision",
  ".published.json": "published",
  ".nudged.json": "nudged",
  ".series.bin": "series",
  ".ensemble.json": "ensemble",
} as const;

function evaluationEntry(rest: string): EvaluationEntry | null {
  if (rest === "decision.json") return { kind: "latest-decision" };
  if (rest === "published.json") return { kind: "latest-published" };
  const status = statusFile(rest);
  if (status) return { kind: "status", runId: status[0] as string, status: status[1] as StatusName };
  const decision = decisionEntry(rest);
  if (!decision) return null;
  const [generation, suffix] = decision as [string, string];
  if (suffix.startsWith(".claim-")) return { kind: "claim", generation, slot: Number(suffix.slice(7, -5)) };
  return { kind: DECISION_KINDS[suffix as keyof typeof DECISION_KINDS], generation };
}

export function parseEvaluationKey(
  key: string,
): { identifier: string; configHash: string; entry: EvaluationEntry } | null {
  const m = evaluationKey(key);
  const entry = m ? evaluationEntry(m[2] as string) : null;
  return m && entry ? { identifier: m[0] as string, configHash: m[1] as string, entry } : null;
}
