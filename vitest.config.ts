/**
 * Three projects, run one after the other: `unit` needs nothing running (`npm run test:unit`; a socket
 * fails the test), `integration` runs on the real Kafka and MinIO its global setup starts when they are
 * down, `infra` synthesizes the CDK app (test/infra/vitest.config.ts).
 * The fault suite kills services: it runs on a system of its own (test/faults/vitest.config.ts).
 */
import { defineConfig } from "vitest/config";
import { localServiceEnv } from "./local/services/env.ts";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          setupFiles: ["test/setup/no-network.ts"],
          testTimeout: 120_000,
          pool: "forks",
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: [
            "test/integration/**/*.test.ts",
            "test/e2e/**/*.test.ts",
            "test/browser/**/*.test.ts",
            "test/localstack/**/*.test.ts",
          ],
          globalSetup: ["test/setup/local-services.ts"],
          env: localServiceEnv(),
          testTimeout: 120_000,
          hookTimeout: 600_000,
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          pool: "forks",
        },
      },
      "test/infra/vitest.config.ts",
    ],
  },
});
