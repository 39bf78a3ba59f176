/**
 * The container entry point as a real process: it reads its settings from the environment, refuses
 * a bad setting by name, serves, and on SIGTERM drains, flushes its inference logs and exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { listKeys } from "../../functions/common/s3.ts";
import { repoRoot } from "../../local/paths.ts";
import { common, publishFixture, s3, unique, waitFor, windowData } from "./inference-harness.ts";

const entry = join(repoRoot, "functions", "inference", "main.ts");

function launch(env: Record<string, string>): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => lines.push(line));
  }
  return { child, lines };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("functions/inference/main.ts", () => {
  it("exits non-zero naming a bad setting", async () => {
    const { child, lines } = launch({ QUEUE_MAX: "lots" });
    expect(await exitOf(child)).not.toBe(0);
    expect(lines.join("\n")).toContain("QUEUE_MAX");
  });

  it("serves, then on SIGTERM drains, writes its inference logs and exits 0", async () => {
    const identifier = unique("inf-main");
    const runId = unique("inf-main-run");
    await publishFixture("gru", runId, identifier);
    const { child, lines } = launch({
      MODEL_IDENTIFIER: identifier,
      GLOBAL_FALLBACK: "0",
      KAFKA_LISTEN: "0",
      PORT: "0",
      HOST: "127.0.0.1",
      INFERENCE_LOG_FLUSH_MS: "600000",
    });
    try {
      const port = await waitFor("the listening log line", () => {
        const line = lines.find((l) => l.includes('"inference_listening"'));
        return line ? (JSON.parse(line) as { port: number }).port : undefined;
      });
      const url = `http://127.0.0.1:${port}`;
      await waitFor("ready", async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${url}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ data: windowData("gru", i) }),
        });
        expect(res.status).toBe(200);
      }
      child.kill("SIGTERM");
      expect(await exitOf(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    expect(
      lines.some((l) => l.includes('"inference_stopped"') && l.includes('"log_records_written":3')),
    ).toBe(true);
    const keys = await listKeys(s3(), common().storage.buckets.inferenceLogs, `${identifier}/`);
    expect(keys).toHaveLength(1);
  });
});
