/**
 * The `local` trainer backend: the Python trainer as a child process
 * (`python -m flts_train run --job <job.json>`), with bounded concurrency. A process that ends
 * without writing `_SUCCESS` or `_FAILED` gets a `_FAILED` written for it, so the run always ends.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { TrainerJobSpec } from "../../functions/common/contracts.ts";
import { exists, putJson } from "../../functions/common/s3.ts";
import type { LaunchInfo, TrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import { repoRoot, stateDir } from "../paths.ts";

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
  | { phase: "exit"; run_id: string; model_type: string; code: number | null; seconds: number; log: string };

export class LocalTrainerPool extends EventEmitter implements TrainerLauncher {
  private readonly queue: TrainerJobSpec[] = [];
  private readonly running = new Map<string, ChildProcess>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly logDir: string;

  constructor(private readonly options: LocalTrainerOptions) {
    super();
    this.logDir = options.logDir ?? join(stateDir, "trainer-logs");
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

  /** Drops queued jobs and terminates running trainers. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const child of this.running.values()) child.kill("SIGTERM");
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
        await this.ensureMarker(
          spec,
          code,
          spawnError ? `cannot start the trainer: ${spawnError.message}` : tail,
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

  /** Writes `_FAILED` for a trainer that ended without a marker (crash, kill, missing interpreter). */
  private async ensureMarker(spec: TrainerJobSpec, code: number | null, tail: string): Promise<void> {
    const { bucket, prefix } = spec.artifacts;
    const s3 = this.options.s3;
    if ((await exists(s3, bucket, `${prefix}_SUCCESS`)) || (await exists(s3, bucket, `${prefix}_FAILED`)))
      return;
    const lastLines = tail.trim().split("\n").slice(-5).join(" | ");
    await putJson(s3, bucket, `${prefix}_FAILED`, {
      run_id: spec.run_id,
      model_type: spec.model_type,
      error: `trainer process exited with code ${code} without writing _SUCCESS or _FAILED: ${lastLines}`,
    });
  }
}
