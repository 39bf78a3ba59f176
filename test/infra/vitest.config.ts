/**
 * Infra tests alone, without the local Kafka/MinIO global setup they do not need:
 *   npx vitest run --config test/infra/vitest.config.ts
 * (`npx vitest run test/infra` also works, through the project config.)
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/infra/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: "forks",
  },
});
