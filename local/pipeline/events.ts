/**
 * What `npm run pipeline` reports while it works: one event per state change of a step. The CLI prints
 * each as a line on stderr; with `FLTS_PIPELINE_EVENTS_FD` set it also writes them as JSON lines to that
 * file descriptor, which is how `npm run demo` draws its step list.
 */
import { Socket } from "node:net";
import { z } from "zod";

export const PipelineStep = z.enum([
  "services",
  "upload",
  "preprocess",
  "train",
  "evaluate",
  "promote",
  /** `npm run score`: batch-inference of the uploaded data, and monitor's drift verdict on it. */
  "score",
  "monitor",
  "pipeline",
]);
export type PipelineStep = z.infer<typeof PipelineStep>;

export const PipelineEvent = z.object({
  step: PipelineStep,
  state: z.enum(["running", "progress", "done", "skipped", "failed", "warning"]),
  /** For `train`: the model type the event is about. */
  model_type: z.string().optional(),
  detail: z.string().optional(),
  /** Seconds since the pipeline started. */
  at: z.number(),
});
export type PipelineEvent = z.infer<typeof PipelineEvent>;

export type Report = (event: Omit<PipelineEvent, "at">) => void;

export interface Reporter {
  report: Report;
  /** Flushes the events channel (call before the process exits). */
  close(): Promise<void>;
}

/** The human line of an event, as the CLI prints it on stderr. */
export function formatEvent(e: PipelineEvent): string {
  const subject = e.model_type ? `${e.step}] ${e.model_type}` : `${e.step}]`;
  const state = e.state === "progress" ? "" : ` ${e.state}`;
  return `[${e.at.toFixed(1).padStart(6)}s] [${subject}${state}${e.detail ? `: ${e.detail}` : ""}`;
}

/**
 * A reporter that prints lines on stderr (progress events of one subject at most every 5 s), or hands
 * every event to `show` instead when given (a step list), and, when `eventsFd` is given, writes every
 * event as a JSON line to that descriptor.
 */
export function reporter(
  startedAt: number,
  eventsFd: number | null,
  show?: (event: PipelineEvent) => void,
): Reporter {
  const lastProgress = new Map<string, number>();
  const channel = eventsFd === null ? null : new Socket({ fd: eventsFd, readable: false, writable: true });
  const report: Report = (partial) => {
    const event: PipelineEvent = { ...partial, at: (Date.now() - startedAt) / 1000 };
    channel?.write(`${JSON.stringify(event)}\n`);
    if (show) return show(event);
    if (event.state === "progress") {
      const subject = `${event.step}/${event.model_type ?? ""}`;
      if (event.at - (lastProgress.get(subject) ?? Number.NEGATIVE_INFINITY) < 5) return;
      lastProgress.set(subject, event.at);
    }
    process.stderr.write(`${formatEvent(event)}\n`);
  };
  const close = () => new Promise<void>((resolve) => (channel ? channel.end(resolve) : resolve()));
  return { report, close };
}

/** `FLTS_PIPELINE_EVENTS_FD`: a file descriptor number, or null when unset. */
export function eventsFdFromEnv(env: NodeJS.ProcessEnv = process.env): number | null {
  const raw = env.FLTS_PIPELINE_EVENTS_FD;
  if (raw === undefined || raw === "") return null;
  const fd = Number(raw);
  if (!Number.isInteger(fd) || fd < 3)
    throw new Error(`FLTS_PIPELINE_EVENTS_FD must be an integer >= 3, got '${raw}'`);
  return fd;
}
