/**
 * The step list of a stage CLI on a terminal: listr2 on stderr, redrawn in place, fed by the step
 * events (events.ts) that are plain lines without a terminal or with `CI=true`.
 */
import { EventEmitter } from "node:events";
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput } from "listr2";
import type { PipelineEvent, PipelineStep } from "./events.ts";

export interface StepTitle {
  step: PipelineStep;
  title: string;
}

/** Whether stderr is a terminal the list can be redrawn on. */
export const redrawable = (): boolean => Boolean(process.stderr.isTTY) && process.env.CI !== "true";

const ENDS: ReadonlySet<PipelineEvent["state"]> = new Set(["done", "skipped", "failed"]);

interface TaskView {
  title: string;
  output: string;
}

export class StepList {
  private readonly history: PipelineEvent[] = [];
  private readonly bus = new EventEmitter();
  private closedWith: string | null = null;
  private readonly rendered: Promise<void>;

  constructor(steps: readonly StepTitle[]) {
    const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
    const listr = new Listr(
      steps.map(({ step, title }) => ({
        title,
        task: (_: unknown, task: TaskView) => this.follow(step, title, task),
      })),
      { exitOnError: true, rendererOptions: { timer: PRESET_TIMER, logger } },
    );
    this.rendered = listr.run().then(
      () => undefined,
      () => undefined, // a failed step is drawn by listr; the CLI reports it too
    );
  }

  push(event: PipelineEvent): void {
    this.history.push(event);
    this.bus.emit("event", event);
  }

  /** The run is over: steps it did not reach fail with `reason`; resolves once the list is drawn. */
  async close(reason: string): Promise<void> {
    this.closedWith = reason;
    this.bus.emit("close", reason);
    await this.rendered;
  }

  /** Resolves when `step` is done or skipped, rejects when it (or the run) fails. */
  private follow(step: PipelineStep, title: string, task: TaskView): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (end: () => void) => {
        if (settled) return;
        settled = true;
        this.bus.off("event", onEvent);
        this.bus.off("close", onClose);
        end();
      };
      const onClose = (reason: string) => settle(() => reject(new Error(reason)));
      const onEvent = (e: PipelineEvent) => {
        if (e.step === "pipeline" && e.state === "failed")
          return settle(() => reject(new Error(e.detail ?? "failed")));
        if (e.step !== step) return;
        if (!ENDS.has(e.state)) {
          if (e.detail) task.output = e.detail;
          return;
        }
        settle(() => {
          if (e.detail) task.title = `${title}${e.state === "skipped" ? " (skipped)" : ""}: ${e.detail}`;
          if (e.state === "failed") reject(new Error(e.detail ?? `${title} failed`));
          else resolve();
        });
      };
      this.bus.on("event", onEvent);
      this.bus.on("close", onClose);
      for (const e of [...this.history]) onEvent(e);
      if (this.closedWith !== null) onClose(this.closedWith);
    });
  }
}
