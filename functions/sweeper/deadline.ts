/**
 * EVAL_DEADLINE_SECONDS without waiting for a message: for an (identifier, config_hash) whose
 * deadline passed with types still pending, or whose decision was written but never published, the
 * sweeper publishes again the newest `model-training` status evaluate recorded for the group. To
 * evaluate that is a redelivery (its status is already recorded), so it re-checks readiness, finds the
 * deadline passed and decides (or finishes the publication) by the rules it already has; live runs are
 * left alone and reported MISSING, as the deadline means; so is an ENSEMBLE evaluate asked for that is not
 * terminal EVAL_DEADLINE_SECONDS after it was first seen (ensemble-request.ts). A nudge marker per generation keeps a group
 * from being nudged more often than once per evaluate timeout.
 */
import { z } from "zod";
import type { StageContext } from "../common/context.ts";
import { ModelTrainingMessage, RunStatusRecord, TOPICS } from "../common/contracts.ts";
import { publish } from "../common/kafka.ts";
import { EVALUATIONS_PREFIX, evaluationKeys, parseEvaluationKey } from "../common/keys.ts";
import { exists, getJsonIfExists, listKeys, putJson } from "../common/s3.ts";
import { ensembleOverdue } from "../evaluate/ensemble-request.ts";
import { currentGeneration, loadRunStates, type RunState, readiness } from "../evaluate/state.ts";
import type { SweepSettings } from "./settings.ts";

const Nudge = z.object({ at: z.string(), reason: z.string() });

export interface Nudged {
  identifier: string;
  config_hash: string;
  generation: string;
  reason: string;
}

interface GroupKeys {
  identifier: string;
  configHash: string;
  running: Set<string>;
  terminal: Set<string>;
  decisions: Set<string>;
  published: Set<string>;
  /** Generations whose ENSEMBLE evaluate asked for. */
  asked: Set<string>;
}

/** Groups of `evaluations/<identifier>/<config_hash>/…` keys, from one listing. */
export function groupEvaluationKeys(keys: readonly string[]): GroupKeys[] {
  const groups = new Map<string, GroupKeys>();
  for (const key of keys) {
    const parsed = parseEvaluationKey(key);
    if (!parsed) continue;
    const { identifier, configHash, entry } = parsed;
    const id = evaluationKeys.prefix(identifier, configHash);
    let g = groups.get(id);
    if (!g) {
      g = {
        identifier,
        configHash,
        running: new Set(),
        terminal: new Set(),
        decisions: new Set(),
        published: new Set(),
        asked: new Set(),
      };
      groups.set(id, g);
    }
    if (entry.kind === "status") (entry.status === "RUNNING" ? g.running : g.terminal).add(entry.runId);
    if (entry.kind === "decision") g.decisions.add(entry.generation);
    if (entry.kind === "published") g.published.add(entry.generation);
    if (entry.kind === "ensemble") g.asked.add(entry.generation);
  }
  return [...groups.values()];
}

/** Could need the sweeper: a run still RUNNING, nothing published yet, a decision not published or an ENSEMBLE not decided. */
export function mayNeedNudge(g: GroupKeys): boolean {
  return (
    [...g.running].some((r) => !g.terminal.has(r)) ||
    g.published.size === 0 ||
    [...g.decisions].some((d) => !g.published.has(d)) ||
    [...g.asked].some((a) => !g.decisions.has(a))
  );
}

async function newestStatus(
  ctx: StageContext,
  bucket: string,
  g: GroupKeys,
  latest: RunState[],
): Promise<ModelTrainingMessage | null> {
  const newest = [...latest].sort((a, b) => b.first_seen.localeCompare(a.first_seen))[0];
  if (!newest) return null;
  if (newest.terminal) return newest.terminal;
  const key = evaluationKeys.status(g.identifier, g.configHash, newest.run_id, "RUNNING");
  return (await getJsonIfExists(ctx.s3, bucket, key, RunStatusRecord))?.message ?? null;
}

export async function enforceDeadlines(
  ctx: StageContext,
  settings: SweepSettings,
  now: Date,
  accepts: (identifier: string) => boolean = () => true,
): Promise<Nudged[]> {
  const bucket = ctx.config.storage.buckets.artifacts;
  const nudged: Nudged[] = [];
  const groups = groupEvaluationKeys(await listKeys(ctx.s3, bucket, EVALUATIONS_PREFIX)).filter(
    (g) => accepts(g.identifier) && mayNeedNudge(g),
  );
  for (const g of groups) {
    const runs = await loadRunStates(ctx.s3, bucket, g.identifier, g.configHash);
    const { latest, generation } = currentGeneration(settings.expected, runs);
    if (await exists(ctx.s3, bucket, evaluationKeys.publishedFor(g.identifier, g.configHash, generation)))
      continue;
    const ready = readiness(settings.expected, runs, settings.deadlineSeconds, now);
    const group = { identifier: g.identifier, configHash: g.configHash, generation, runs };
    const reason = ready.deadlinePassed
      ? `evaluation deadline passed (EVAL_DEADLINE_SECONDS=${settings.deadlineSeconds}) with ${ready.pending.join(", ")} pending`
      : g.decisions.has(generation)
        ? "decision written but not published"
        : ready.ready && (await ensembleOverdue(ctx.s3, bucket, group, settings.deadlineSeconds, now))
          ? `evaluation deadline passed (EVAL_DEADLINE_SECONDS=${settings.deadlineSeconds}) with ENSEMBLE pending`
          : null;
    if (!reason) continue;
    const key = evaluationKeys.nudgedFor(g.identifier, g.configHash, generation);
    const last = await getJsonIfExists(ctx.s3, bucket, key, Nudge);
    if (last && now.getTime() - Date.parse(last.at) < settings.renudgeSeconds * 1000) continue;
    const message = await newestStatus(ctx, bucket, g, latest);
    if (!message) continue;
    await putJson(ctx.s3, bucket, key, { at: now.toISOString(), reason });
    await publish(ctx.producer, TOPICS.modelTraining, ModelTrainingMessage, message, g.identifier);
    ctx.logger.info("sweeper_evaluation_nudged", {
      identifier: g.identifier,
      config_hash: g.configHash,
      generation,
      run_id: message.run_id,
      reason,
    });
    nudged.push({ identifier: g.identifier, config_hash: g.configHash, generation, reason });
  }
  return nudged;
}
