/**
 * `npm run pipeline` as a child process of the demo: its events (JSON lines on fd 3) are handed to
 * listeners, its people-facing stderr goes to `.flts/logs/pipeline.log`, its stdout's last line is the
 * summary.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { logsDir, repoRoot } from "../paths.ts";
import { PipelineEvent } from "../pipeline/events.ts";
import type { PipelineSummary } from "../runtime/summary.ts";

export const pipelineLog = join(logsDir, "pipeline.log");

export interface PipelineExit {
  code: number | null;
  summary: PipelineSummary | null;
}

export class PipelineProcess extends EventEmitter {
  readonly exited: Promise<PipelineExit>;
  /** Every event so far, so a step that starts waiting late still sees what already happened. */
  readonly history: PipelineEvent[] = [];
  private ended: PipelineExit | null = null;

  constructor(args: string[]) {
    super();
    mkdirSync(logsDir, { recursive: true });
    const log = openSync(pipelineLog, "w");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "local", "pipeline-cli.ts"), ...args],
      {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", log, "pipe"],
        env: { ...process.env, FLTS_PIPELINE_EVENTS_FD: "3" },
      },
    );
    closeSync(log);
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    createInterface({ input: child.stdio[3] as Readable }).on("line", (line) => {
      const event = PipelineEvent.safeParse(JSON.parse(line));
      if (!event.success) return;
      this.history.push(event.data);
      this.emit("event", event.data);
    });
    this.exited = new Promise((resolve) => {
      child.once("error", (error) => {
        this.ended = { code: null, summary: null };
        this.emit("exit", this.ended, error);
        resolve(this.ended);
      });
      child.once("close", (code) => {
        const last = stdout.trim().split("\n").at(-1) ?? "";
        let summary: PipelineSummary | null = null;
        try {
          summary = last.startsWith("{") ? (JSON.parse(last) as PipelineSummary) : null;
        } catch {
          summary = null;
        }
        this.ended = { code, summary };
        this.emit("exit", this.ended);
        resolve(this.ended);
      });
    });
  }

  get hasExited(): PipelineExit | null {
    return this.ended;
  }

  /** Why the pipeline failed: its `stage ... failed` lines, else its last lines. */
  tail(lines = 4): string {
    let text = "";
    try {
      text = readFileSync(pipelineLog, "utf8");
    } catch {
      return "";
    }
    const all = text.trim().split("\n");
    const reasons = all.filter((line) => /^stage \S+ failed|\] \[pipeline\] failed/.test(line));
    return (reasons.length ? reasons : all).slice(-lines).join("\n");
  }
}

/**
 * Resolves with the first terminal event (done, skipped, failed) `match` accepts, passing the others to
 * `onProgress`; rejects when the pipeline exits first.
 */
export function waitForStep(
  pipeline: PipelineProcess,
  match: (e: PipelineEvent) => boolean,
  onProgress: (e: PipelineEvent) => void,
): Promise<PipelineEvent> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const onEvent = (e: PipelineEvent) => {
      if (settled || !match(e)) return;
      if (e.state === "done" || e.state === "skipped" || e.state === "failed") {
        cleanup();
        resolve(e);
      } else onProgress(e);
    };
    const onExit = (exit: PipelineExit) => {
      cleanup();
      reject(
        new Error(`the pipeline exited with code ${exit.code}:\n${pipeline.tail()}\n(log: ${pipelineLog})`),
      );
    };
    const cleanup = () => {
      settled = true;
      pipeline.off("event", onEvent);
      pipeline.off("exit", onExit);
    };
    for (const e of pipeline.history) onEvent(e);
    if (settled) return;
    pipeline.on("event", onEvent);
    pipeline.on("exit", onExit);
    const ended = pipeline.hasExited;
    if (ended) onExit(ended);
  });
}
