/** The `infra` project of the root config (`npx vitest run --project infra`): no local services. */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "infra",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/infra/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    sequence: { groupOrder: 2 },
    fileParallelism: false,
    pool: "forks",
  },
});
