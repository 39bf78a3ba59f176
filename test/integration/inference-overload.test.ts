/**
 * Overload and restarts of the real service process (functions/inference/main.ts, one process, GRU
 * fixture, cache off): 15,000 `/predict` at concurrency 3000 on loopback, past a queue of 64 windows
 * with a 25 ms TTL, answer only 200, 429 or 503, and every 429 or 503 carries Retry-After (with the
 * default queue of 2048 this machine answered all 15,000 with 200); a started service listens only
 * once its model serves.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../local/paths.ts";
import { pollUntil } from "../poll.ts";
import { publishFixture, unique, windowData } from "./inference-harness.ts";

const entry = join(repoRoot, "functions", "inference", "main.ts");
const CONCURRENCY = 3000;
const REQUESTS = 15_000;

interface Listening {
  port: number;
  ready: boolean;
}

/** The entry point as its own process (so the load generator does not share its event loop). */
async function launch(identifier: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: repoRoot,
    env: {
      ...process.env,
      MODEL_IDENTIFIER: identifier,
      GLOBAL_FALLBACK: "0",
      KAFKA_LISTEN: "0",
      POINTER_POLL_MS: "0",
      CACHE_SIZE: "0",
      PORT: "0",
      HOST: "127.0.0.1",
      WORKERS: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => lines.push(line));
  }
  const listening = await pollUntil("the listening log line", () => {
    const line = lines.find((l) => l.includes('"inference_listening"'));
    return line ? (JSON.parse(line) as Listening) : undefined;
  });
  return { child, lines, listening, url: `http://127.0.0.1:${listening.port}` };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

describe("the service process", () => {
  it("listens only once its model serves: its first answer is a forecast, not a 503", async () => {
    const identifier = unique("inf-listen");
    await publishFixture("gru", unique("inf-listen-run"), identifier);
    const { child, listening, url } = await launch(identifier);
    try {
      expect(listening.ready).toBe(true);
      const res = await fetch(`${url}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data: windowData("gru", 0) }),
      });
      expect(res.status).toBe(200);
    } finally {
      await stop(child);
    }
  });

  it(`at concurrency ${CONCURRENCY} answers 200, or 429/503 with Retry-After, never another 5xx`, async () => {
    const identifier = unique("inf-overload");
    await publishFixture("gru", unique("inf-overload-run"), identifier);
    // A queue far smaller than the concurrency, and a short TTL: both overload answers must occur.
    const { child, url } = await launch(identifier, {
      QUEUE_MAX: "64",
      QUEUE_TTL_MS: "25",
    });
    const statuses = new Map<number, number>();
    const withoutRetryAfter = new Map<number, number>();
    try {
      const result = await autocannon({
        url,
        connections: CONCURRENCY,
        amount: REQUESTS,
        timeout: 60,
        requests: [
          {
            method: "POST",
            path: "/predict",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ data: windowData("gru", 1) }),
            onResponse: (status, _body, _context, headers) => {
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
              const retryAfter = Object.keys(headers ?? {}).some(
                (key) => key.toLowerCase() === "retry-after",
              );
              if (status !== 200 && !retryAfter)
                withoutRetryAfter.set(status, (withoutRetryAfter.get(status) ?? 0) + 1);
            },
          },
        ],
      });
      const counts = Object.fromEntries(statuses);
      console.log(
        `[faults] overload: ${REQUESTS} requests at concurrency ${CONCURRENCY}: ${JSON.stringify(counts)}, ` +
          `without Retry-After ${JSON.stringify(Object.fromEntries(withoutRetryAfter))}, ` +
          `errors ${result.errors}, timeouts ${result.timeouts}`,
      );
      let answered = 0;
      for (const n of statuses.values()) answered += n;
      expect(result.errors).toBe(0);
      expect(answered).toBe(REQUESTS);
      expect([...statuses.keys()].filter((s) => ![200, 429, 503].includes(s))).toEqual([]);
      expect(Object.fromEntries(withoutRetryAfter)).toEqual({});
      expect(statuses.get(200)).toBeGreaterThan(0);
      expect(statuses.get(429)).toBeGreaterThan(0);
      expect(result.timeouts).toBe(0);
    } finally {
      await stop(child);
    }
  });
});
