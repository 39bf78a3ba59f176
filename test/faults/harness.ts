/**
 * The fault suite's tools: `npm run pipeline` as a child whose events can trigger a fault, killing and
 * restarting this suite's own Kafka and MinIO, the invariants every case must keep, and its report line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { createKafka } from "../../functions/common/kafka.ts";
import { createS3Client, exists, listKeys } from "../../functions/common/s3.ts";
import { PipelineEvent } from "../../local/pipeline/events.ts";
import type { PipelineSummary } from "../../local/runtime/summary.ts";
import { up } from "../../local/services/index.ts";
import { isAlive, runningPid } from "../../local/services/processes.ts";
import { pollUntil } from "../poll.ts";

const repo = join(import.meta.dirname, "..", "..");
export const fixtureData = join(repo, "test", "fixtures", "data");
export const sliceCsv = join(fixtureData, "PobleSecSlice.csv");

export interface PipelineRun {
  child: ChildProcess;
  events: PipelineEvent[];
  done: Promise<{ code: number | null; summary: PipelineSummary | null; stderr: string }>;
  /** Resolves with the first event `match` accepts. */
  when(match: (e: PipelineEvent) => boolean): Promise<PipelineEvent>;
}

export function startPipeline(args: string[], env: Record<string, string> = {}): PipelineRun {
  const child = spawn(process.execPath, ["--import", "tsx", "local/pipeline-cli.ts", ...args], {
    cwd: repo,
    env: { ...process.env, TRAINER_CONCURRENCY: "3", ...env, FLTS_PIPELINE_EVENTS_FD: "3" },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  const events: PipelineEvent[] = [];
  const waiters: { match: (e: PipelineEvent) => boolean; resolve: (e: PipelineEvent) => void }[] = [];
  createInterface({ input: child.stdio[3] as Readable }).on("line", (line) => {
    const event = PipelineEvent.parse(JSON.parse(line));
    events.push(event);
    for (const w of waiters.filter((w) => w.match(event))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(event);
    }
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  const done = new Promise<{ code: number | null; summary: PipelineSummary | null; stderr: string }>(
    (resolve) =>
      child.on("close", (code) => {
        const last = stdout.trim().split("\n").at(-1) ?? "";
        resolve({
          code,
          summary: last.startsWith("{") ? (JSON.parse(last) as PipelineSummary) : null,
          stderr,
        });
      }),
  );
  const when = (match: (e: PipelineEvent) => boolean) =>
    new Promise<PipelineEvent>((resolve, reject) => {
      const seen = events.find(match);
      if (seen) return resolve(seen);
      waiters.push({ match, resolve });
      void done.then(() =>
        reject(new Error(`the pipeline ended before the awaited event; stderr:\n${stderr.slice(-2000)}`)),
      );
    });
  return { child, events, done, when };
}

/** The first epoch of any recurrent model: training is under way. */
export const training = (e: PipelineEvent) => e.step === "train" && e.state === "progress";

/** SIGKILLs a local service's process group (no shutdown of any kind) and waits until it is gone. */
export async function killService(service: "kafka" | "minio"): Promise<void> {
  const pid = runningPid(service);
  if (pid === null) throw new Error(`${service} is not running`);
  process.kill(-pid, "SIGKILL");
  await pollUntil(`${service} (pid ${pid}) to be gone`, () => !isAlive(pid));
}

/** Starts what is down again (idempotent). */
export async function restartServices(): Promise<void> {
  await up(() => {});
}

export function suiteS3(): S3Client {
  return createS3Client(loadCommonConfig().storage);
}

export interface Invariants {
  promotions: number;
  runs: number;
  runsWithoutMarker: string[];
  /** `model-selected` messages per promoted run (each must be 1). */
  modelSelected: Record<string, number>;
}

/** Every message of a topic up to its current end, read with a fresh consumer group. */
export async function readTopic(topic: string): Promise<Record<string, unknown>[]> {
  const kafka = await createKafka(loadCommonConfig().kafka, "flts-faults-reader");
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((o) => [o.partition, BigInt(o.high)]));
  for (const [p, high] of remaining) if (high === 0n) remaining.delete(p);
  const docs: Record<string, unknown>[] = [];
  if (remaining.size === 0) return docs;
  const consumer = kafka.consumer({ groupId: `flts-faults-reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        try {
          docs.push(JSON.parse(message.value?.toString("utf8") ?? "") as Record<string, unknown>);
        } catch {
          docs.push({ unparsable: message.value?.toString("utf8") ?? "" });
        }
        if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return docs;
}

/** What must hold for `identifier` after every case. */
export async function invariants(s3: S3Client, identifier: string): Promise<Invariants> {
  const { buckets } = loadCommonConfig().storage;
  const records = (await listKeys(s3, buckets.artifacts, `runs/${identifier}-`)).filter((k) =>
    k.endsWith("/run.json"),
  );
  const runsWithoutMarker: string[] = [];
  for (const key of records) {
    const prefix = key.slice(0, -"run.json".length);
    if (
      !(await exists(s3, buckets.artifacts, `${prefix}_SUCCESS`)) &&
      !(await exists(s3, buckets.artifacts, `${prefix}_FAILED`))
    )
      runsWithoutMarker.push(prefix.split("/")[1] as string);
  }
  const history = (await listKeys(s3, buckets.promotion, `${identifier}/`)).filter((k) =>
    /\/promotion-[^/]+\.json$/.test(k),
  );
  const modelSelected: Record<string, number> = {};
  for (const doc of await readTopic("model-selected"))
    if (doc.identifier === identifier)
      modelSelected[String(doc.run_id)] = (modelSelected[String(doc.run_id)] ?? 0) + 1;
  return { promotions: history.length, runs: records.length, runsWithoutMarker, modelSelected };
}

/** The case's one report line: fault, outcome, promotions, runs without a marker, records lost. */
export function reportCase(fault: string, outcome: string, inv: Invariants, recordsLost: number): string {
  const line = `[fault] ${fault.padEnd(34)} | outcome: ${outcome} | promotions: ${inv.promotions} | runs without a marker: ${inv.runsWithoutMarker.length} | records lost: ${recordsLost}`;
  process.stdout.write(`${line}\n`);
  return line;
}
