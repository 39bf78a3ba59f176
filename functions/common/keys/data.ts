/** raw-data and processed-data keys (layout: functions/common/keys.ts). */
import { HASH, matcher, NAME } from "./segments.ts";

export const TEST_SUFFIX = "_test.csv";
/** The folder under an identifier that holds data to score rather than to train on. */
export const SCORE_FOLDER = "score";
/** The sidecar's name, next to the objects it describes. */
export const SIDECAR = ".meta.json";

export const rawKeys = {
  /** `<identifier>/<file>.csv`: a series to train on. */
  series: (identifier: string, file: string) => `${identifier}/${file}`,
  /** `<identifier>/<stem>_test.csv`: the test split uploaded with `<stem>.csv`. */
  testCompanion: (identifier: string, file: string) =>
    `${identifier}/${file.replace(/\.csv$/i, "")}${TEST_SUFFIX}`,
  prefix: (identifier: string) => `${identifier}/`,
  /** `<identifier>/retrain-<run_id>.csv`: monitor's retraining series for champion `<run_id>` (written once). */
  retrain: (identifier: string, championRunId: string) => `${identifier}/retrain-${championRunId}.csv`,
};

/** `<identifier>/score/<file>.csv`: a series to score with the identifier's champion. */
export function rawScoreKey(identifier: string, file: string): string {
  return `${identifier}/${SCORE_FOLDER}/${file}`;
}

export type RawKey =
  | { kind: "series" | "test"; identifier: string; file: string }
  | { kind: "score"; identifier: string; file: string };

const rawSeries = matcher(`(${NAME})/([^/]+\\.[cC][sS][vV])`);
const rawScore = matcher(`(${NAME})/${SCORE_FOLDER}/([^/]+\\.[cC][sS][vV])`);

/** The parts of a raw-data key; null for anything that is not one of its layouts. */
export function parseRawKey(key: string): RawKey | null {
  const score = rawScore(key);
  if (score) return { kind: "score", identifier: score[0] as string, file: score[1] as string };
  const series = rawSeries(key);
  if (!series) return null;
  const [identifier, file] = series as [string, string];
  return { kind: file.toLowerCase().endsWith(TEST_SUFFIX) ? "test" : "series", identifier, file };
}

/** `<identifier>/<config_hash>/`: one processed training set. */
export const processedKeys = (identifier: string, hash: string) => ({
  prefix: `${identifier}/${hash}/`,
  train: `${identifier}/${hash}/train.parquet`,
  test: `${identifier}/${hash}/test.parquet`,
  meta: `${identifier}/${hash}/${SIDECAR}`,
});

/** `<identifier>/score/<config_hash>/score.parquet`: a processed data set to score. */
export function processedScoreKey(identifier: string, hash: string): string {
  return `${identifier}/${SCORE_FOLDER}/${hash}/score.parquet`;
}

/** The sidecar (`.meta.json`) of a processed object: in the same folder. */
export function sidecarKey(objectKey: string): string {
  return objectKey.replace(/[^/]*$/, SIDECAR);
}

export interface ProcessedKey {
  purpose: "train" | "score";
  identifier: string;
  configHash: string;
  /** `train.parquet`, `test.parquet`, `score.parquet` or `.meta.json`. */
  file: string;
}

const processedTrain = matcher(`(${NAME})/(${HASH})/(train\\.parquet|test\\.parquet|\\.meta\\.json)`);
const processedScore = matcher(`(${NAME})/${SCORE_FOLDER}/(${HASH})/(score\\.parquet|\\.meta\\.json)`);

export function parseProcessedKey(key: string): ProcessedKey | null {
  const score = processedScore(key);
  const parts = score ?? processedTrain(key);
  if (!parts) return null;
  const [identifier, configHash, file] = parts as [string, string, string];
  return { purpose: score ? "score" : "train", identifier, configHash, file };
}
