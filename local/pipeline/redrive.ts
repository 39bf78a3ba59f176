/**
 * The pipeline CLI's recovery of terminal statuses evaluate did not record: runs finished while no runtime
 * listened (redriven), and runs whose bucket notification was lost (reconciled). Both publish the run's
 * status again through train-complete; both are idempotent.
 */
import { evaluationKeys, runKeys } from "../../functions/common/keys.ts";
import { exists } from "../../functions/common/s3.ts";
import { completeRun } from "../../functions/train-complete/complete.ts";
import type { DispatchResult } from "../../functions/train-dispatch/dispatch.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { Report } from "./events.ts";
import type { PipelineState } from "./watch.ts";

async function markerOf(runtime: Runtime, runId: string): Promise<"_SUCCESS" | "_FAILED" | null> {
  const { s3, config } = runtime.ctx;
  const artifacts = config.storage.buckets.artifacts;
  if (await exists(s3, artifacts, runKeys.success(runId))) return "_SUCCESS";
  if (await exists(s3, artifacts, runKeys.failed(runId))) return "_FAILED";
  return null;
}

async function republish(runtime: Runtime, runId: string, marker: "_SUCCESS" | "_FAILED"): Promise<void> {
  const artifacts = runtime.ctx.config.storage.buckets.artifacts;
  await completeRun(
    { bucket: artifacts, key: runKeys.marker(runId, marker), size: null, eTag: null, eventName: "redrive" },
    runtime.ctx,
  );
}

/**
 * Runs that already held the guard (skipped) may have finished while no runtime was listening: unless
 * this set of runs already has its decision, their terminal status is published again. Idempotent.
 */
export async function redriveFinishedRuns(
  runtime: Runtime,
  state: PipelineState,
  report: Report,
  hash: string,
  generation: string,
  dispatch: DispatchResult,
): Promise<void> {
  const { s3, config } = runtime.ctx;
  const artifacts = config.storage.buckets.artifacts;
  if (dispatch.skipped.length === 0) return;
  if (await exists(s3, artifacts, evaluationKeys.publishedFor(state.identifier, hash, generation))) return;
  for (const s of dispatch.skipped) {
    const marker = await markerOf(runtime, s.run_id);
    if (!marker) {
      report({
        step: "train",
        state: "running",
        model_type: s.model_type,
        detail: `run ${s.run_id} (dispatched earlier) has not finished yet: waiting for it`,
      });
      continue;
    }
    report({
      step: "train",
      state: "done",
      model_type: s.model_type,
      detail: `run ${s.run_id} finished earlier (${marker.slice(1)})`,
    });
    await republish(runtime, s.run_id, marker);
  }
}

/**
 * A run whose marker exists but whose terminal status evaluate never recorded (its bucket notification
 * was lost, e.g. by a storage restart) gets it published again, so the decision is not waited for in vain.
 * A marker is only judged lost on the pass after the one that first found it (`unrecorded` remembers
 * them), so a notification still on its way is not taken for a lost one.
 */
export async function reconcileRuns(
  runtime: Runtime,
  state: PipelineState,
  report: Report,
  hash: string,
  runIds: string[],
  unrecorded: Set<string>,
) {
  const { s3, config } = runtime.ctx;
  const artifacts = config.storage.buckets.artifacts;
  for (const runId of runIds) {
    const marker = await markerOf(runtime, runId);
    if (!marker) continue;
    const status = marker === "_SUCCESS" ? "SUCCESS" : "FAILED";
    if (await exists(s3, artifacts, evaluationKeys.status(state.identifier, hash, runId, status))) continue;
    if (!unrecorded.has(runId)) {
      unrecorded.add(runId);
      continue;
    }
    report({
      step: "pipeline",
      state: "warning",
      detail: `run ${runId} ended (${status}) but its event was not seen: publishing it again`,
    });
    await republish(runtime, runId, marker);
  }
}
