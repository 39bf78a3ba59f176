/**
 * Pure: the one place a promotion is decided. The per-target quality gate (a candidate worse than
 * persistence for any target at any step, by more than GATE_MARGIN, is not eligible), the choice of
 * the candidate to judge, and the rule: given that candidate, the persistence baseline and the
 * current champion (all scored on the same test windows), the run the scope's pointer names now and
 * the policy, whether to promote and why.
 */
import type {
  GateResult,
  PerHorizonMetrics,
  PromotionPointer,
  PromotionPolicy,
  ScoreboardEntry,
} from "../common/contracts.ts";
import type { RankedCandidate } from "./scoreboard.ts";
import { pickWinner } from "./scoring.ts";

/** Every (target, step) where the row's MAE exceeds persistence's by more than `margin` (a fraction). */
export function qualityGate(
  entry: PerHorizonMetrics,
  baseline: PerHorizonMetrics,
  margin: number,
): GateResult {
  const failures: GateResult["failures"] = [];
  for (const [target, m] of Object.entries(entry)) {
    const b = baseline[target];
    if (!b) continue;
    m.mae.forEach((mae, i) => {
      const persistence_mae = b.mae[i] as number;
      if (mae > persistence_mae * (1 + margin))
        failures.push({
          target,
          step: i + 1,
          mae,
          persistence_mae,
          ratio: persistence_mae > 0 ? mae / persistence_mae : null,
        });
    });
  }
  return { passed: failures.length === 0, failures };
}

/** A row without a gate (written before the gate, or a model scored without steps) is not held back. */
const passesGate = (c: RankedCandidate) => c.entry.gate?.passed !== false;

/**
 * The candidate the policy judges: the best-scoring one that passes the gate; when none does, the
 * best-scoring one (which applyPolicy then declines, naming why). `always` takes the best-scoring.
 */
export function chooseCandidate(
  ranked: readonly RankedCandidate[],
  policy: PromotionPolicy,
): RankedCandidate | null {
  if (policy === "always") return pickWinner(ranked);
  return pickWinner(ranked.filter(passesGate)) ?? pickWinner(ranked);
}

export interface PolicyInput {
  policy: PromotionPolicy;
  /** The candidate to judge (chooseCandidate); null when none could be scored. */
  best: (Pick<RankedCandidate, "run_id" | "model_type" | "score"> & { entry?: ScoreboardEntry }) | null;
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

/** The worst failure of a gate (largest ratio; a failure against a perfect persistence counts as the worst). */
function gateReason(gate: GateResult): string {
  const worst = [...gate.failures].sort((a, b) => (b.ratio ?? Infinity) - (a.ratio ?? Infinity))[0];
  if (!worst) return "fails the quality gate";
  const ratio = worst.ratio === null ? "persistence is exact" : `ratio ${worst.ratio.toFixed(3)}`;
  const more = gate.failures.length > 1 ? `; ${gate.failures.length - 1} more failing step(s)` : "";
  return `${worst.target} at step ${worst.step} has MAE ${worst.mae.toPrecision(6)} against persistence's ${worst.persistence_mae.toPrecision(6)} (${ratio}${more})`;
}

export function applyPolicy({ policy, best, baseline, champion, previous }: PolicyInput): PolicyDecision {
  if (!best) return { promote: false, reason: "no candidate could be scored" };
  if (previous?.run_id === best.run_id)
    return {
      promote: false,
      reason: `${best.model_type} ${best.run_id} is already the current champion (score ${fmt(best.score)})`,
    };
  const baselineScore = baseline.score ?? Number.NaN;
  if (policy === "always")
    return {
      promote: true,
      reason: `${best.model_type} ${best.run_id} wins with score ${fmt(best.score)} (baseline ${fmt(baselineScore)}; policy always: baseline and quality gate bypassed)`,
    };
  const gate = best.entry?.gate;
  if (gate && !gate.passed)
    return {
      promote: false,
      reason: `no candidate passes the per-target quality gate: best candidate ${best.model_type} ${best.run_id} (score ${fmt(best.score)}) ${gateReason(gate)}`,
    };
  if (!(best.score < baselineScore))
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
