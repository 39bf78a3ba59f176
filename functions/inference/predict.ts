/** Turning a validated request into forecasts: model lookup, lease, cache, micro-batch, log. */
import { createHash } from "node:crypto";
import { VOLUME_COLUMNS } from "../common/contracts.ts";
import { answerText, type Prediction, predictionsJson, toPredictions } from "./answer.ts";
import type { ForecastRecord } from "./inference-log.ts";
import type { Lru } from "./lru.ts";
import type { Forecast, LoadedModel } from "./model.ts";
import type { ModelRegistry, Serving } from "./registry.ts";
import {
  type PredictBody,
  parseBatchBody,
  parsePredictBody,
  readWindow,
  requireQuantiles,
  resolveHorizon,
  type WindowShape,
} from "./request.ts";
import { timeBounds } from "./timestamps.ts";

export type { Prediction };

export interface PredictResponse {
  status: "SUCCESS";
  run_id: string;
  model_type: string;
  identifier: string;
  predictions: Prediction[];
}

export interface BatchResponse {
  status: "SUCCESS";
  run_id: string;
  model_type: string;
  identifier: string;
  forecasts: { predictions: Prediction[] }[];
}

export interface PredictDeps {
  registry: ModelRegistry;
  /** Forecasts (`y` and any `q`) by run and input digest; null disables caching. */
  cache: Lru<string, Forecast> | null;
  maxBatchWindows: number;
  onCacheHit: () => void;
  record: (record: ForecastRecord) => void;
  /** Request timestamps farther than this from the model card's `created_at` are refused; 0: no limit. */
  maxTsDistanceDays: number;
}

export class Predictor {
  constructor(private readonly deps: PredictDeps) {}

  /**
   * The hot path of `POST /predict`: the answer as JSON text, built directly (the same text as
   * `JSON.stringify` of a PredictResponse). The default identifier's model is leased without a
   * Promise round; `started` is the request's arrival (performance.now()) for the log's latency.
   */
  predictJson(body: unknown, requestId: string, started: number): Promise<string> {
    const request = parsePredictBody(body);
    const identifier = request.identifier ?? this.deps.registry.defaultIdentifier;
    const serving = this.leaseDefault(identifier);
    if (serving) return this.forecastOne(serving, request, identifier, requestId, started);
    return this.lease(identifier).then((leased) =>
      this.forecastOne(leased, request, identifier, requestId, started),
    );
  }

  private async forecastOne(
    serving: Serving,
    request: PredictBody,
    identifier: string,
    requestId: string,
    started: number,
  ): Promise<string> {
    try {
      const { model } = serving;
      const card = model.card;
      const horizon = resolveHorizon(request.horizon, card.horizon);
      requireQuantiles(request.quantiles, model.quantiles, model.identity.run_id);
      const x = new Float32Array(model.xSize);
      const lastTs = readWindow(request.data, this.shapeOf(model), "data", x, 0);
      const t = stepTimes(lastTs, card.horizon, card.step_seconds);
      const key = this.deps.cache ? `${model.identity.run_id}:${digest(x, t)}` : null;
      let forecast = key ? this.deps.cache?.get(key) : undefined;
      const cached = forecast !== undefined;
      if (forecast === undefined) {
        forecast = await serving.batcher.submit(x, t, 1);
        if (key) this.deps.cache?.set(key, { y: forecast.y.slice(), q: forecast.q?.slice() ?? null });
      } else this.deps.onCacheHit();
      const text = answerText(model);
      const predictions = predictionsJson(forecast, t, text, card.horizon, horizon, request.quantiles);
      const answer = `${text.head}${identifier === text.identifier ? text.identifierJson : JSON.stringify(identifier)},"predictions":${predictions}}`;
      // Logged only once the answer is built: a request that fails never leaves a record.
      this.deps.record({
        at: Date.now(),
        request_id: requestId,
        identifier,
        run_id: model.identity.run_id,
        model_type: model.identity.model_type,
        route: "/predict",
        features: card.features,
        targets: card.targets,
        x,
        window: card.window,
        last_ts: lastTs,
        t,
        y: forecast.y,
        horizon,
        latency_ms: performance.now() - started,
        cached,
      });
      return answer;
    } finally {
      serving.model.release();
    }
  }

  async predictBatch(body: unknown, requestId: string): Promise<BatchResponse> {
    const started = performance.now();
    const request = parseBatchBody(body, this.deps.maxBatchWindows);
    const identifier = request.identifier ?? this.deps.registry.defaultIdentifier;
    const serving = await this.lease(identifier);
    try {
      const { model } = serving;
      const card = model.card;
      const horizon = resolveHorizon(request.horizon, card.horizon);
      requireQuantiles(request.quantiles, model.quantiles, model.identity.run_id);
      const rows = request.windows.length;
      const x = new Float32Array(rows * model.xSize);
      const t = new Float64Array(rows * card.horizon);
      const lastTs: number[] = [];
      const shape = this.shapeOf(model);
      for (let i = 0; i < rows; i++) {
        const last = readWindow(
          request.windows[i] as Record<string, unknown>,
          shape,
          `windows[${i}]`,
          x,
          i * model.xSize,
        );
        lastTs.push(last);
        t.set(stepTimes(last, card.horizon, card.step_seconds), i * card.horizon);
      }
      const { y, q } = await serving.batcher.submit(x, t, rows);
      const latency = performance.now() - started;
      const layout = {
        targets: card.targets,
        modelHorizon: card.horizon,
        horizon,
        levels: request.quantiles ? model.quantiles : [],
      };
      const windowOf = (i: number) => ({
        y: y.subarray(i * model.ySize, (i + 1) * model.ySize),
        q: q?.subarray(i * model.qSize, (i + 1) * model.qSize) ?? null,
        t: t.subarray(i * card.horizon, (i + 1) * card.horizon),
      });
      const forecasts = lastTs.map((_, i) => {
        const w = windowOf(i);
        return { predictions: toPredictions(w, w.t, layout) };
      });
      // Logged only once every answer is built: a request that fails never leaves a record.
      lastTs.forEach((last, i) => {
        const { y: yi, t: ti } = windowOf(i);
        this.deps.record({
          at: Date.now(),
          request_id: `${requestId}/${i}`,
          identifier,
          run_id: model.identity.run_id,
          model_type: model.identity.model_type,
          route: "/predict/batch",
          features: card.features,
          targets: card.targets,
          x: x.subarray(i * model.xSize, (i + 1) * model.xSize),
          window: card.window,
          last_ts: last,
          t: ti,
          y: yi,
          horizon,
          latency_ms: latency,
          cached: false,
        });
      });
      return {
        status: "SUCCESS",
        run_id: model.identity.run_id,
        model_type: model.identity.model_type,
        identifier,
        forecasts,
      };
    } finally {
      serving.model.release();
    }
  }

  /** What a window must hold for `model`, its time bounds included (computed once per model). */
  private shapeOf(model: LoadedModel): WindowShape {
    let shape = shapes.get(model);
    if (!shape) {
      const { card } = model;
      const created = Date.parse(card.created_at) / 1000;
      shape = {
        features: card.features,
        window: card.window,
        bounds: timeBounds(created, this.deps.maxTsDistanceDays, card.horizon * card.step_seconds),
        nonNegative: card.features.map((f) => (VOLUME_COLUMNS as readonly string[]).includes(f)),
      };
      shapes.set(model, shape);
    }
    return shape;
  }

  /** The default identifier's loaded model with a lease taken, or null (then use lease()). */
  private leaseDefault(identifier: string): Serving | null {
    // The default identifier's model needs no resolution: take it without a round through lookup().
    if (identifier !== this.deps.registry.defaultIdentifier) return null;
    const loaded = this.deps.registry.defaultModel;
    return loaded?.model.acquire() ? loaded : null;
  }

  /** The identifier's serving model with a lease taken; a model retired meanwhile is looked up again. */
  private async lease(identifier: string): Promise<Serving> {
    const loaded = this.leaseDefault(identifier);
    if (loaded) return loaded;
    for (;;) {
      const serving = await this.deps.registry.lookup(identifier);
      if (serving.model.acquire()) return serving;
    }
  }
}

const shapes = new WeakMap<LoadedModel, WindowShape>();

/** Unix seconds of the `horizon` steps after `last`. */
function stepTimes(last: number, horizon: number, step: number): Float64Array {
  const t = new Float64Array(horizon);
  for (let k = 0; k < horizon; k++) t[k] = last + (k + 1) * step;
  return t;
}

function digest(x: Float32Array, t: Float64Array): string {
  return createHash("sha1")
    .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
    .update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength))
    .digest("base64");
}
