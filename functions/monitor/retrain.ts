/**
 * Retraining on drift (`RETRAIN_ON_DRIFT=1`): the champion's training data (its sidecar's raw CSV and
 * `_test` companion) extended with the scored data, which carries actuals, is uploaded as one new raw
 * series `<identifier>/retrain-<champion run_id>.csv`; its creation runs the normal pipeline, and the
 * champion/challenger gate decides. The key is written once, so a champion is retrained at most once
 * however many scored results drift against it.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { StageContext } from "../common/context.ts";
import {
  type PerformanceEvalMessage,
  PermanentError,
  ProcessedMeta,
  ScoreMeta,
} from "../common/contracts.ts";
import { rawKeys, sidecarKey } from "../common/keys.ts";
import { exists, getBytes, getJsonIfExists, parseS3Uri, putIfAbsent, s3Uri } from "../common/s3.ts";
import { ident, lit } from "../preprocess/duck.ts";

export interface Retraining {
  /** The raw series uploaded (or found) for this champion. */
  uri: string;
  /** False when an earlier drift already started this champion's retraining. */
  started: boolean;
  rows: number | null;
}

interface Sources {
  history: { bucket: string; key: string }[];
  scored: { bucket: string; key: string };
}

async function sourcesOf(message: PerformanceEvalMessage, ctx: StageContext): Promise<Sources> {
  const { source } = message;
  const scoreMetaKey = sidecarKey(source.object_key);
  const scoreMeta = await getJsonIfExists(ctx.s3, source.bucket, scoreMetaKey, ScoreMeta);
  if (!scoreMeta)
    throw new PermanentError(
      `retraining ${message.identifier}: the scored data's sidecar ${s3Uri(source.bucket, scoreMetaKey)} does not exist`,
    );
  const at = parseS3Uri(scoreMeta.champion.training_meta);
  const training = await getJsonIfExists(ctx.s3, at.bucket, at.key, ProcessedMeta);
  if (!training)
    throw new PermanentError(
      `retraining ${message.identifier}: the champion's training sidecar ${scoreMeta.champion.training_meta} does not exist`,
    );
  const { raw } = training;
  const history = [{ bucket: raw.bucket, key: raw.key }];
  if (raw.test_key) history.push({ bucket: raw.bucket, key: raw.test_key });
  return { history, scored: { bucket: scoreMeta.raw.bucket, key: scoreMeta.raw.key } };
}

/**
 * History rows whose `time` the scored data also has are replaced by the scored ones; columns are
 * matched by name and every cell is kept as text, so preprocess validates the result as any upload.
 */
async function combineCsv(historyPaths: string[], scoredPath: string, out: string): Promise<number> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const conn = await DuckDBConnection.create(instance);
  const read = (paths: string[]) =>
    `read_csv([${paths.map(lit).join(", ")}], header = true, all_varchar = true, union_by_name = true)`;
  const time = ident("time");
  try {
    await conn.run(`CREATE TABLE scored AS SELECT * FROM ${read([scoredPath])}`);
    await conn.run(
      `CREATE TABLE combined AS SELECT * FROM ${read(historyPaths)} WHERE ${time} NOT IN (SELECT ${time} FROM scored)
       UNION ALL BY NAME SELECT * FROM scored`,
    );
    await conn.run(`COPY (SELECT * FROM combined ORDER BY ${time}) TO ${lit(out)} (HEADER, DELIMITER ',')`);
    const count = (await conn.runAndReadAll("SELECT count(*) FROM combined")).getRowsJS()[0]?.[0];
    return Number(count);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export async function startRetraining(
  message: PerformanceEvalMessage,
  ctx: StageContext,
): Promise<Retraining> {
  const raw = ctx.config.storage.buckets.raw;
  const key = rawKeys.retrain(message.identifier, message.run_id);
  const uri = s3Uri(raw, key);
  if (await exists(ctx.s3, raw, key)) return { uri, started: false, rows: null };
  const sources = await sourcesOf(message, ctx);
  const dir = await mkdtemp(join(tmpdir(), "flts-retrain-"));
  try {
    const fetch = async (ref: { bucket: string; key: string }, name: string) => {
      const path = join(dir, name);
      await writeFile(path, await getBytes(ctx.s3, ref.bucket, ref.key));
      return path;
    };
    const historyPaths = await Promise.all(sources.history.map((ref, i) => fetch(ref, `history-${i}.csv`)));
    const scoredPath = await fetch(sources.scored, "scored.csv");
    const out = join(dir, "retrain.csv");
    const rows = await combineCsv(historyPaths, scoredPath, out);
    const started = await putIfAbsent(ctx.s3, raw, key, await readFile(out), "text/csv");
    return { uri, started, rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
