/**
 * `npm run test:faults`: faults injected into a local system of its own (its own state directory and
 * ports), so killing its Kafka or MinIO never touches the services other suites use.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

const isolated = {
  FLTS_STATE_DIR: process.env.FLTS_FAULTS_STATE_DIR ?? join(tmpdir(), `flts-faults-${process.pid}`),
  FLTS_KAFKA_PORT: "19092",
  FLTS_KAFKA_CONTROLLER_PORT: "19093",
  FLTS_MINIO_PORT: "19000",
  FLTS_MINIO_CONSOLE_PORT: "19001",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};
// Set here, in the main process, so the global setup and the forked test workers see the same system.
Object.assign(process.env, isolated);
const { localServiceEnv } = await import("../../local/services/env.ts");

export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/faults/setup.ts"],
    // The faults are about ending in a promotion at all: a 2-epoch model on the slice rarely clears the
    // per-step quality gate, so the `always` policy promotes the best candidate (the gate: evaluate-policy tests).
    env: { ...isolated, ...localServiceEnv(), PROMOTION_POLICY: "always" },
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: "forks",
  },
});
