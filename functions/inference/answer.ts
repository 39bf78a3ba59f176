/** The JSON of forecasts: predictions as objects, and the hot path's answer written as text. */
import type { Forecast, LoadedModel } from "./model.ts";
import { toIsoUtc } from "./timestamps.ts";

/** Per target and level (its decimal text, e.g. "0.1"): the step's quantile. */
export type StepQuantiles = Record<string, Record<string, number | null>>;
export type Prediction = Record<string, string | number | StepQuantiles>;

/** Which parts of one window's forecast to answer, and how they are laid out. */
export interface AnswerLayout {
  targets: readonly string[];
  modelHorizon: number;
  horizon: number;
  /** Levels to answer from `q` (`[horizon, targets, levels]` per window); empty: no quantiles. */
  levels: readonly number[];
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function toPredictions(forecast: Forecast, t: Float64Array, layout: AnswerLayout): Prediction[] {
  const { targets, levels } = layout;
  const { y, q } = forecast;
  const width = targets.length;
  const nq = q ? levels.length : 0;
  const steps = Math.min(layout.horizon, layout.modelHorizon);
  const out: Prediction[] = new Array(steps);
  for (let k = 0; k < steps; k++) {
    const row: Prediction = { ts: toIsoUtc(t[k] as number) };
    for (let j = 0; j < width; j++) row[targets[j] as string] = y[k * width + j] as number;
    if (q && nq > 0) {
      const quantiles: StepQuantiles = {};
      for (let j = 0; j < width; j++) {
        const byLevel: Record<string, number | null> = {};
        for (let l = 0; l < nq; l++)
          byLevel[String(levels[l])] = finiteOrNull(q[(k * width + j) * nq + l] as number);
        quantiles[targets[j] as string] = byLevel;
      }
      row.quantiles = quantiles;
    }
    out[k] = row;
  }
  return out;
}

/** The constant parts of a model's answers, as JSON text. */
interface AnswerText {
  /** `{"status":"SUCCESS","run_id":...,"model_type":...,"identifier":` */
  head: string;
  /** The model's scope, the identifier most requests name (or imply), and its JSON. */
  identifier: string;
  identifierJson: string;
  /** Per target: `,"<target>":` */
  targets: string[];
  /** Per target: `"<target>":{` (inside `"quantiles":{...}`). */
  quantileTargets: string[];
  /** Per level: `"<level>":` */
  levels: string[];
}

const answerTexts = new WeakMap<LoadedModel, AnswerText>();

export function answerText(model: LoadedModel): AnswerText {
  let text = answerTexts.get(model);
  if (!text) {
    const { run_id, model_type, scope } = model.identity;
    text = {
      head: `{"status":"SUCCESS","run_id":${JSON.stringify(run_id)},"model_type":${JSON.stringify(model_type)},"identifier":`,
      identifier: scope,
      identifierJson: JSON.stringify(scope),
      targets: model.card.targets.map((target) => `,${JSON.stringify(target)}:`),
      quantileTargets: model.card.targets.map((target) => `${JSON.stringify(target)}:{`),
      levels: model.quantiles.map((level) => `${JSON.stringify(String(level))}:`),
    };
    answerTexts.set(model, text);
  }
  return text;
}

/**
 * `[{"ts":"<ISO>","<target>":v,...[,"quantiles":{...}]},...]` exactly as JSON.stringify writes
 * toPredictions' result; quantiles only when `withQuantiles` and the forecast has them.
 */
export function predictionsJson(
  forecast: Forecast,
  t: Float64Array,
  text: AnswerText,
  modelHorizon: number,
  horizon: number,
  withQuantiles: boolean,
): string {
  const { y } = forecast;
  const q = withQuantiles ? forecast.q : null;
  const targetKeys = text.targets;
  const width = targetKeys.length;
  const nq = text.levels.length;
  // resolveHorizon keeps `horizon` within the model's.
  const steps = Math.min(horizon, modelHorizon);
  let out = "[";
  for (let k = 0; k < steps; k++) {
    out += `${k === 0 ? "" : ","}{"ts":"${toIsoUtc(t[k] as number)}"`;
    for (let j = 0; j < width; j++) {
      const v = y[k * width + j] as number;
      out += `${targetKeys[j]}${Number.isFinite(v) ? v : "null"}`;
    }
    if (q && nq > 0) {
      out += `,"quantiles":{`;
      for (let j = 0; j < width; j++) {
        out += `${j === 0 ? "" : ","}${text.quantileTargets[j]}`;
        const base = (k * width + j) * nq;
        for (let l = 0; l < nq; l++) {
          const v = q[base + l] as number;
          out += `${l === 0 ? "" : ","}${text.levels[l]}${Number.isFinite(v) ? v : "null"}`;
        }
        out += "}";
      }
      out += "}";
    }
    out += "}";
  }
  return `${out}]`;
}
