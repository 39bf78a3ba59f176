/**
 * The container entry point as a real process: it reads its settings from the environment, refuses
 * a bad setting by name, serves, and on SIGTERM drains, flushes its inference logs and exits 0; with
 * WORKERS=2, two processes share the port, `/metrics` counts both, a killed one is replaced, and
 * SIGTERM stops both the same way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { listKeys } from "../../functions/common/s3.ts";
import { repoRoot } from "../../local/paths.ts";
import { pollUntil } from "../poll.ts";
import { common, publishFixture, s3, unique, windowData } from "./inference-harness.ts";

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

interface LogLine {
  message?: string;
  port?: number;
  pid?: number;
  worker?: number;
  log_records_written?: number;
}

const parsed = (lines: string[]): LogLine[] =>
  lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogLine);

/** POST on a connection of its own, so the cluster's round robin spreads the requests. */
function postFresh(url: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/predict`, { method: "POST", agent: false }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", reject);
    req.setHeader("content-type", "application/json");
    req.end(JSON.stringify(body));
  });
}

function getFresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.once("end", () => resolve(text));
    });
    req.once("error", reject);
    req.end();
  });
}

/** The service for `identifier` on an ephemeral loopback port, logs flushed only on shutdown. */
const serving = (identifier: string, workers: number): Record<string, string> => ({
  MODEL_IDENTIFIER: identifier,
  GLOBAL_FALLBACK: "0",
  KAFKA_LISTEN: "0",
  PORT: "0",
  HOST: "127.0.0.1",
  INFERENCE_LOG_FLUSH_MS: "600000",
  WORKERS: String(workers),
});

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
    const { child, lines } = launch(serving(identifier, 1));
    try {
      const port = await pollUntil("the listening log line", () => {
        const line = lines.find((l) => l.includes('"inference_listening"'));
        return line ? (JSON.parse(line) as { port: number }).port : undefined;
      });
      const url = `http://127.0.0.1:${port}`;
      await pollUntil("ready", async () => (await fetch(`${url}/readyz`)).status === 200);
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

  it("WORKERS=2: both serve one port, /metrics counts both, a killed one is replaced, SIGTERM stops both", async () => {
    const identifier = unique("inf-cluster");
    await publishFixture("gru", unique("inf-cluster-run"), identifier);
    const { child, lines } = launch(serving(identifier, 2));
    const listening = () => parsed(lines).filter((l) => l.message === "inference_listening");
    let first: LogLine[] = [];
    try {
      first = await pollUntil("two workers listening", () => {
        const found = listening();
        return found.length >= 2 ? found : undefined;
      });
      expect(new Set(first.map((l) => l.pid)).size).toBe(2);
      expect(first[1]?.port).toBe(first[0]?.port);
      const url = `http://127.0.0.1:${first[0]?.port}`;
      await pollUntil(
        "both models loaded",
        () => parsed(lines).filter((l) => l.message === "model_swapped").length >= 2,
      );

      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => postFresh(url, { data: windowData("gru", i % 8) })),
      );
      expect(statuses).toEqual(Array(20).fill(200));
      // Whichever process answers /metrics, it reports the requests of both.
      for (let i = 0; i < 2; i++) {
        const metrics = await getFresh(`${url}/metrics`);
        expect(metrics).toMatch(/^http_requests_total\{route="\/predict",method="POST",status="200"\} 20$/m);
        expect(metrics).toMatch(/^model_info\{[^}]*\} 1$/m);
      }

      const victim = first[0]?.pid as number;
      process.kill(victim, "SIGKILL");
      const replacement = await pollUntil("a replacement worker", () =>
        listening().find((l) => l.pid !== undefined && !first.some((f) => f.pid === l.pid)),
      );
      await pollUntil("the replacement's model", () =>
        parsed(lines).some((l) => l.message === "model_swapped" && l.worker === replacement.worker),
      );
      expect(parsed(lines).some((l) => l.message === "inference_worker_exited")).toBe(true);
      const after = await Promise.all(
        Array.from({ length: 10 }, (_, i) => postFresh(url, { data: windowData("gru", i % 8) })),
      );
      expect(after).toEqual(Array(10).fill(200));

      child.kill("SIGTERM");
      expect(await exitOf(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    const stopped = parsed(lines).filter((l) => l.message === "inference_stopped");
    expect(new Set(stopped.map((l) => l.worker)).size).toBe(2);
    // The replacement served its share of the last 10 requests and flushed them on SIGTERM.
    const replacementStop = stopped.find((l) => l.worker !== first[1]?.worker);
    expect(replacementStop?.log_records_written).toBeGreaterThan(0);
    expect(parsed(lines).some((l) => l.message === "inference_workers_stopped")).toBe(true);
  });
});
