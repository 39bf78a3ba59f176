/**
 * Faults from clients on a real model (GRU fixture, onnxruntime, MinIO): a corpus of malformed
 * requests answers no 5xx, names the field, and never touches the inference-log records of the
 * good requests around it; wrong methods get 405, partial bodies 408, client aborts an INFO line.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { getBytes, listKeys } from "../../functions/common/s3.ts";
import type { ProblemBody } from "../../functions/inference/problem.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import { pollUntil } from "../poll.ts";
import { type Case, malformedCorpus } from "./inference-corpus.ts";
import { common, s3, serveFixture, unique, windowData } from "./inference-harness.ts";
import { openPartial, sendRaw } from "./inference-raw.ts";

const BODY_LIMIT = 64 * 1024;
const identifier = unique("inf-faults");
const logger = new Logger({ serviceName: "flts-inference-faults-test", logLevel: "INFO" });
const errors = vi.spyOn(logger, "error");
const warnings = vi.spyOn(logger, "warn");
const infos = vi.spyOn(logger, "info");
let service: InferenceService;

beforeAll(async () => {
  service = await serveFixture(
    identifier,
    unique("inf-faults-run"),
    {
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      BODY_TIMEOUT_MS: "500",
      MAX_BATCH_WINDOWS: "4",
      // Only the explicit flush below writes, so every record of the run is in one place.
      INFERENCE_LOG_FLUSH_MS: "600000",
    },
    logger,
  );
});

afterAll(async () => {
  await service?.stop();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return Number(match?.[1]);
}

async function send(c: Case): Promise<Response> {
  return fetch(`${service.url}${c.path ?? "/predict"}`, {
    method: c.method ?? "POST",
    headers: { "content-type": "application/json", ...c.headers },
    ...(c.body === undefined ? {} : { body: typeof c.body === "string" ? c.body : JSON.stringify(c.body) }),
  });
}

async function logLines(): Promise<{ request_id: string }[]> {
  const bucket = common().storage.buckets.inferenceLogs;
  const lines: { request_id: string }[] = [];
  for (const key of await listKeys(s3(), bucket, `${identifier}/`)) {
    const text = Buffer.from(await getBytes(s3(), bucket, key)).toString("utf8");
    for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line));
  }
  return lines;
}

describe("a malformed-request corpus", () => {
  it("answers every case 4xx naming the field, drops no record and loses no good request's log", async () => {
    const droppedBefore = await metric("inference_log_records_dropped_total");
    const good: string[] = [];
    const sendGood = async () => {
      const id = `good-${good.length}`;
      const res = await fetch(`${service.url}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": id },
        body: JSON.stringify({ data: windowData("gru", good.length % 8) }),
      });
      expect(res.status).toBe(200);
      good.push(id);
    };
    const corpus = malformedCorpus(BODY_LIMIT);
    const fivexx: string[] = [];
    await sendGood();
    for (const c of corpus) {
      const res = await send(c);
      if (res.status >= 500) fivexx.push(`${c.name}: ${res.status}`);
      expect(res.status, c.name).toBe(c.status);
      if (c.method !== "HEAD") {
        expect(res.headers.get("content-type"), c.name).toBe("application/problem+json");
        const problem = (await res.json()) as ProblemBody;
        if (c.field) expect(problem.field, c.name).toBe(c.field);
        if (c.detail) expect(problem.detail, c.name).toMatch(c.detail);
      }
      if (c.allow) expect(res.headers.get("allow"), c.name).toBe(c.allow);
      await sendGood();
    }
    console.log(`[faults] malformed corpus: ${corpus.length} cases, ${fivexx.length} answered 5xx`);
    expect(fivexx).toEqual([]);

    await service.logs.flush();
    expect(await metric("inference_log_records_dropped_total")).toBe(droppedBefore);
    const ids = (await logLines()).map((l) => l.request_id).sort();
    expect(ids).toEqual([...good].sort());
    expect(errors).not.toHaveBeenCalled();
  });
});

describe("bodies that do not arrive", () => {
  it("a partial body is answered 408 problem+json after BODY_TIMEOUT_MS and its connection closed", async () => {
    const { head, closed } = await sendRaw(
      service.port,
      'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"data":',
    );
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head.toLowerCase()).toContain("content-type: application/problem+json");
    expect(head).toContain("urn:flts:problem:body-timeout");
    expect(closed).toBe(true);
  });

  it("a client that leaves mid-body is logged at INFO without a stack, and counted as 499", async () => {
    const consoleErrors = vi.spyOn(console, "error");
    const socket = await openPartial(
      service.port,
      "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{",
    );
    await pollUntil("the request in flight", () => service.inFlight() > 0);
    socket.destroy();
    const line = await pollUntil("the client_aborted line", () =>
      infos.mock.calls.find((call) => call[0] === "client_aborted"),
    );
    expect(JSON.stringify(line)).not.toContain("stack");
    await pollUntil("the abort counted", async () => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      return /http_requests_total\{route="\/predict",method="POST",status="499"\} 1/.test(text);
    });
    expect(errors).not.toHaveBeenCalled();
    expect(warnings).not.toHaveBeenCalled();
    expect(consoleErrors).not.toHaveBeenCalled();
    consoleErrors.mockRestore();
  });
});
