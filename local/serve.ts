/**
 * `npm run serve`: the inference service against the local Kafka and MinIO (started when down).
 *   --seed <model dir>   publish that exported model (e.g. test/fixtures/models/gru) for MODEL_IDENTIFIER
 *                        (default `local-dev`) before starting, so the service is ready at once.
 * Every other setting comes from the environment (functions/inference/config.ts); PORT defaults to 8080.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadCommonConfig } from "../functions/common/config.ts";
import { createS3Client } from "../functions/common/s3.ts";
import { loadInferenceConfig } from "../functions/inference/config.ts";
import { startInferenceService } from "../functions/inference/service.ts";
import { readModelDir, uploadModel, writePointer } from "./seed-model.ts";
import { ensureLocalServices } from "./services/index.ts";

const { values } = parseArgs({ options: { seed: { type: "string" } } });

await ensureLocalServices();
process.env.MODEL_IDENTIFIER ??= "local-dev";

if (values.seed) {
  const { storage } = loadCommonConfig();
  const s3 = createS3Client(storage);
  const files = readModelDir(resolve(values.seed));
  const runId = `serve-${files.card.model_type.toLowerCase()}-${Date.now()}`;
  const pointer = await uploadModel(s3, storage.buckets, files, runId, process.env.MODEL_IDENTIFIER);
  await writePointer(s3, storage.buckets.promotion, pointer);
  process.stderr.write(`[serve] promoted ${pointer.model_uri} for ${pointer.scope}\n`);
}

const service = await startInferenceService(loadInferenceConfig());
process.stderr.write(`[serve] listening on ${service.url} (identifier ${process.env.MODEL_IDENTIFIER})\n`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    void service.stop().then(() => process.exit(0));
  });
}
