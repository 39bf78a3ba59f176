/**
 * The `local` trainer backend: the Python trainer as a child process
 * (`python -m flts_train run --job <job.json>`), with bounded concurrency. A process that ends
 * without writing `_SUCCESS` or `_FAILED` gets a `_FAILED` written for it, so the run always ends.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { S3Client } from "@aws-sdk/client-s3";
import type { TrainerJobSpec } from "../../functions/common/contracts.ts";
import { runKeys } from "../../functions/common/keys.ts";
import { exists, putJson } from "../../functions/common/s3.ts";
import type { LaunchInfo, TrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import { logsDir, repoRoot } from "../paths.ts";
import { withRetries } from "./retry.ts";

export interface LocalTrainerOptions {
  /** The trainer virtualenv's python. */
  python: string;
  concurrency: number;
  s3: S3Client;
  env?: NodeJS.ProcessEnv;
  logDir?: string;
}

export type TrainerEvent =
  | { phase: "queued" | "start"; run_id: string; model_type: string }
  | {
      phase: "epoch";
      run_id: string;
      model_type: string;
      epoch: number;
      max_epochs: number | null;
      val_loss: number | null;
    }
  | { phase: "exit"; run_id: string; model_type: string; code: number | null; seconds: number; log: string };

export class LocalTrainerPool extends EventEmitter implements TrainerLauncher {
  private readonly queue: TrainerJobSpec[] = [];
  private readonly running = new Map<string, ChildProcess>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly logDir: string;

  constructor(private readonly options: LocalTrainerOptions) {
    super();
    this.logDir = options.logDir ?? join(logsDir, "trainers");
    mkdirSync(this.logDir, { recursive: true });
  }

  async launch(spec: TrainerJobSpec): Promise<LaunchInfo> {
    if (this.stopped) throw new Error("the local trainer pool is stopped");
    this.queue.push(spec);
    this.emit("trainer", {
      phase: "queued",
      run_id: spec.run_id,
      model_type: spec.model_type,
    } satisfies TrainerEvent);
    this.pump();
    return { backend: "local", handle: `local:${spec.run_id}` };
  }

  get active(): number {
    return this.running.size + this.queue.length;
  }

  /** Resolves when no trainer is queued or running. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Terminates running trainers (each gets `_FAILED` unless it wrote a marker) and marks every queued
   * run `_FAILED`, so no run of this pool is left without a marker.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const queued = this.queue.splice(0);
    for (const child of this.running.values()) child.kill("SIGTERM");
    await Promise.all(
      queued.map((spec) => this.ensureMarker(spec, "the local runtime stopped before this run started")),
    );
    if (this.running.size) await this.idle();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.options.concurrency && this.queue.length) {
      this.start(this.queue.shift() as TrainerJobSpec);
    }
    if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private start(spec: TrainerJobSpec): void {
    const jobPath = join(this.logDir, `${spec.run_id}.job.json`);
    const logPath = join(this.logDir, `${spec.run_id}.log`);
    writeFileSync(jobPath, JSON.stringify(spec, null, 2));
    const log = createWriteStream(logPath);
    const started = Date.now();
    let tail = "";
    const child = spawn(this.options.python, ["-m", "flts_train", "run", "--job", jobPath], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...this.options.env,
        PYTHONPATH: join(repoRoot, "functions", "train", "src"),
        PYTHONUNBUFFERED: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString("utf8")).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    if (child.stderr)
      createInterface({ input: child.stderr }).on("line", (line) => this.reportEpoch(spec, line));
    this.running.set(spec.run_id, child);
    this.emit("trainer", {
      phase: "start",
      run_id: spec.run_id,
      model_type: spec.model_type,
    } satisfies TrainerEvent);
    let settled = false;
    const finish = async (code: number | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      log.end();
      try {
        const lastLines = tail.trim().split("\n").slice(-5).join(" | ");
        await this.ensureMarker(
          spec,
          spawnError
            ? `cannot start the trainer: ${spawnError.message}`
            : `trainer process exited with code ${code} without writing _SUCCESS or _FAILED: ${lastLines}`,
        );
      } finally {
        this.running.delete(spec.run_id);
        this.emit("trainer", {
          phase: "exit",
          run_id: spec.run_id,
          model_type: spec.model_type,
          code,
          seconds: (Date.now() - started) / 1000,
          log: logPath,
        } satisfies TrainerEvent);
        this.pump();
      }
    };
    child.on("error", (error) => void finish(null, error));
    child.on("close", (code) => void finish(code));
  }

  /** The trainer's own per-epoch JSON log record (`{"msg": "epoch", "epoch", "max_epochs", "val_loss"}`). */
  private reportEpoch(spec: TrainerJobSpec, line: string): void {
    if (!line.startsWith("{") || !line.includes('"epoch"')) return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (record.msg !== "epoch" || typeof record.epoch !== "number") return;
    const number = (v: unknown) => (typeof v === "number" ? v : null);
    this.emit("trainer", {
      phase: "epoch",
      run_id: spec.run_id,
      model_type: spec.model_type,
      epoch: record.epoch,
      max_epochs: number(record.max_epochs),
      val_loss: number(record.val_loss),
    } satisfies TrainerEvent);
  }

  /**
   * Writes `_FAILED` for a run that ended (or was dropped) without a marker. Storage may be briefly
   * unreachable (a restarting MinIO): it retries for about a minute before giving up with an error log.
   */
  private async ensureMarker(spec: TrainerJobSpec, error: string): Promise<void> {
    const { bucket } = spec.artifacts;
    const s3 = this.options.s3;
    const outcome = await withRetries(
      12,
      async () => {
        const [success, failed] = [runKeys.success(spec.run_id), runKeys.failed(spec.run_id)];
        if ((await exists(s3, bucket, success)) || (await exists(s3, bucket, failed))) return;
        await putJson(s3, bucket, failed, {
          run_id: spec.run_id,
          model_type: spec.model_type,
          error,
        });
      },
      500,
    );
    if (!outcome.ok)
      this.emit("marker-failed", {
        run_id: spec.run_id,
        error: String((outcome.error as Error)?.message ?? outcome.error),
      });
  }
}
