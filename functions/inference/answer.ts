/** The JSON of forecasts: predictions as objects, and the hot path's answer written as text. */
import type { LoadedModel } from "./model.ts";
import { toIsoUtc } from "./timestamps.ts";

export type Prediction = Record<string, string | number>;

export function toPredictions(
  y: Float32Array,
  t: Float64Array,
  targets: readonly string[],
  modelHorizon: number,
  horizon: number,
): Prediction[] {
  const width = targets.length;
  const out: Prediction[] = new Array(horizon);
  for (let k = 0; k < horizon && k < modelHorizon; k++) {
    const row: Prediction = { ts: toIsoUtc(t[k] as number) };
    for (let j = 0; j < width; j++) row[targets[j] as string] = y[k * width + j] as number;
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
    };
    answerTexts.set(model, text);
  }
  return text;
}

/** `[{"ts":"<ISO>","<target>":v,...},...]` exactly as JSON.stringify writes toPredictions' result. */
export function predictionsJson(
  y: Float32Array,
  t: Float64Array,
  targetKeys: readonly string[],
  modelHorizon: number,
  horizon: number,
): string {
  const width = targetKeys.length;
  // resolveHorizon keeps `horizon` within the model's.
  const steps = Math.min(horizon, modelHorizon);
  let out = "[";
  for (let k = 0; k < steps; k++) {
    out += `${k === 0 ? "" : ","}{"ts":"${toIsoUtc(t[k] as number)}"`;
    for (let j = 0; j < width; j++) {
      const v = y[k * width + j] as number;
      out += `${targetKeys[j]}${Number.isFinite(v) ? v : "null"}`;
    }
    out += "}";
  }
  return `${out}]`;
}
