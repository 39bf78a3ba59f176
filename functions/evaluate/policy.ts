/**
 * Pure: the one place a promotion is decided. Given the best candidate, the persistence baseline and
 * the current champion (all scored on the same test windows), the run the scope's pointer names now
 * and the policy, it says whether to promote and why.
 */
import type { PromotionPointer, PromotionPolicy, ScoreboardEntry } from "../common/contracts.ts";
import type { RankedCandidate } from "./scoreboard.ts";

export interface PolicyInput {
  policy: PromotionPolicy;
  /** The winner among the rankable candidates (scoring.ts pickWinner); null when none could be scored. */
  best: Pick<RankedCandidate, "run_id" | "model_type" | "score"> | null;
  baseline: ScoreboardEntry;
  /** The current champion's row; null when there is none or it is one of the candidates. */
  champion: ScoreboardEntry | null;
  /** The pointer of the scope before this decision (the previous promotion). */
  previous: Pick<PromotionPointer, "run_id"> | null;
}

export interface PolicyDecision {
  promote: boolean;
  reason: string;
}

const fmt = (score: number) => score.toFixed(6);

export function applyPolicy({ policy, best, baseline, champion, previous }: PolicyInput): PolicyDecision {
  if (!best) return { promote: false, reason: "no candidate could be scored" };
  if (previous?.run_id === best.run_id)
    return {
      promote: false,
      reason: `${best.model_type} ${best.run_id} is already the current champion (score ${fmt(best.score)})`,
    };
  const baselineScore = baseline.score ?? Number.NaN;
  if (policy !== "always" && !(best.score < baselineScore))
    return {
      promote: false,
      reason: `best candidate ${best.run_id} (score ${fmt(best.score)}) does not beat the persistence baseline (${fmt(baselineScore)})`,
    };
  // Only a champion scored on these windows can be compared with; one that failed to load does not hold.
  const championScore = champion?.status === "SCORED" ? (champion.score ?? Number.NaN) : null;
  if (policy === "beat_baseline_and_champion" && championScore !== null && !(best.score < championScore))
    return {
      promote: false,
      reason: `best candidate ${best.run_id} (score ${fmt(best.score)}) does not beat the current champion ${champion?.run_id} (${fmt(championScore)})`,
    };
  const versus = championScore !== null ? `, champion ${fmt(championScore)}` : "";
  return {
    promote: true,
    reason: `${best.model_type} ${best.run_id} wins with score ${fmt(best.score)} (baseline ${fmt(baselineScore)}${versus}; policy ${policy})`,
  };
}
