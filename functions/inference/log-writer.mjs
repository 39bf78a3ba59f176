// @ts-check
/**
 * The inference-log thread: turns packed records into JSONL and writes them to S3, so neither the
 * JSON formatting nor the S3 client runs on the HTTP thread. Plain JavaScript so it loads the same
 * way under tsx, vitest and the bundled container. Layout of a packed record: see inference-log.ts.
 */

import { parentPort, workerData } from "node:worker_threads";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);
const storage = workerData.storage;
const s3 = new S3Client({
  region: storage.region,
  forcePathStyle: storage.forcePathStyle,
  ...(storage.endpoint ? { endpoint: storage.endpoint } : {}),
});

/** @param {number} seconds */
function iso(seconds) {
  const text = new Date(seconds * 1000).toISOString();
  return text.endsWith(".000Z") ? `${text.slice(0, 19)}Z` : text;
}

/**
 * @param {{ identifier: string, strings: string[], numbers: number[], schemas: Record<string, { features: string[], targets: string[] }> }} batch
 */
function toJsonl(batch) {
  const { identifier, strings, numbers, schemas } = batch;
  const lines = [];
  let s = 0;
  let n = 0;
  while (s < strings.length) {
    const requestId = /** @type {string} */ (strings[s++]);
    const runId = /** @type {string} */ (strings[s++]);
    const modelType = strings[s++];
    const route = strings[s++];
    const schema = schemas[runId] ?? { features: [], targets: [] };
    const at = /** @type {number} */ (numbers[n++]);
    const lastTs = /** @type {number} */ (numbers[n++]);
    const latency = /** @type {number} */ (numbers[n++]);
    const cached = numbers[n++] === 1;
    const rows = numbers[n++];
    /** @type {Record<string, number>} */
    const last = {};
    for (const feature of schema.features) last[feature] = /** @type {number} */ (numbers[n++]);
    const horizon = /** @type {number} */ (numbers[n++]);
    const predictions = [];
    for (let k = 0; k < horizon; k++) {
      /** @type {Record<string, string | number>} */
      const step = { ts: iso(/** @type {number} */ (numbers[n++])) };
      for (const target of schema.targets) step[target] = /** @type {number} */ (numbers[n++]);
      predictions.push(step);
    }
    lines.push(
      JSON.stringify({
        at: new Date(at).toISOString(),
        request_id: requestId,
        identifier,
        run_id: runId,
        model_type: modelType,
        route,
        input: { rows, last_ts: iso(lastTs), last },
        predictions,
        latency_ms: latency,
        cached,
      }),
    );
  }
  return { body: `${lines.join("\n")}\n`, count: lines.length };
}

port.on("message", async (message) => {
  let count = 0;
  try {
    const jsonl = toJsonl(message);
    count = jsonl.count;
    await s3.send(
      new PutObjectCommand({
        Bucket: message.bucket,
        Key: message.key,
        Body: jsonl.body,
        ContentType: "application/x-ndjson",
      }),
    );
    port.postMessage({ id: message.id, written: count });
  } catch (error) {
    port.postMessage({
      id: message.id,
      failed: count || message.records,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
