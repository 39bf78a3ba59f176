/** The demo's step-list tasks that follow the pipeline child's events (local/demo/pipeline-process.ts). */
import { ENSEMBLE } from "../../functions/evaluate/ensemble-request.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";
import type { PipelineEvent } from "../pipeline/events.ts";
import { type PipelineProcess, waitForStep } from "./pipeline-process.ts";

export interface FollowCtx {
  pipeline: PipelineProcess;
}

export const step = (name: PipelineEvent["step"], modelType?: string) => (e: PipelineEvent) =>
  e.step === name && (modelType === undefined || e.model_type === modelType);

export const plainLines = !process.stderr.isTTY || process.env.CI === "true";

/**
 * A task's progress line. Redrawn in place on a terminal; as plain lines (CI, a pipe) at most one every
 * 10 s, so long installs and trainings show they are alive without flooding the log.
 */
export function progressOf(task: { output: string }): (line: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  let shown = "";
  return (line) => {
    if (!line || line === shown) return;
    if (plainLines && Date.now() - last < 10_000) return;
    last = Date.now();
    shown = line;
    task.output = line;
  };
}

/** A step that follows the pipeline's events for `name` (and model type), showing their details. */
export function stageTask<C extends FollowCtx>(
  title: string,
  name: PipelineEvent["step"],
  modelType?: string,
) {
  return {
    title,
    task: async (ctx: C, task: { output: string; title: string; skip: (message: string) => void }) => {
      const show = progressOf(task);
      const end = await waitForStep(ctx.pipeline, step(name, modelType), (e) =>
        show(modelType && e.detail ? `${modelType}: ${e.detail}` : (e.detail ?? "")),
      );
      if (end.state === "failed") throw new Error(end.detail ?? `${title} failed`);
      if (end.state === "skipped") task.title = `${title} (${end.detail ?? "skipped"})`;
      else if (end.detail) task.title = `${title}: ${end.detail}`;
    },
  };
}

/**
 * Evaluation's ENSEMBLE of the trained candidates: followed until it ends, or until evaluation decides
 * without one (too few members with out-of-sample validation predictions). It never fails the demo.
 */
export function ensembleTask<C extends FollowCtx>() {
  const title = "Ensemble";
  return {
    title,
    skip: () => !loadEvaluateSettings().buildEnsemble && "BUILD_ENSEMBLE is off",
    task: async (ctx: C, task: { output: string; title: string }) => {
      const show = progressOf(task);
      const end = await waitForStep(
        ctx.pipeline,
        (e) => step("train", ENSEMBLE)(e) || (e.step === "evaluate" && e.state === "done"),
        (e) => show(e.detail ?? ""),
      );
      if (end.step === "evaluate") task.title = `${title} (not built: too few members)`;
      else if (end.state === "failed")
        task.title = `${title} failed (evaluation goes on without it): ${end.detail}`;
      else if (end.detail) task.title = `${title}: ${end.detail}`;
    },
  };
}
