import { defineConfig } from "vitest/config";
import { localServiceEnv } from "./local/services/env.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite kills services: it runs on a system of its own (test/faults/vitest.config.ts).
    exclude: ["test/faults/**", "**/node_modules/**"],
    globalSetup: ["test/setup/local-services.ts"],
    env: localServiceEnv(),
    testTimeout: 120_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: "forks",
  },
});
