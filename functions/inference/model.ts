/** One onnxruntime session on one exported model, with the leases that keep it alive during a swap. */
import type { ModelCard } from "../common/contracts.ts";
import { createSession, type Feed, type ForecastSession, type SessionOptions } from "./session.ts";

export interface ModelIdentity {
  /** Promotion scope the model was resolved from: an identifier or `global`. */
  scope: string;
  run_id: string;
  model_type: string;
  model_uri: string;
}

export type SessionSettings = SessionOptions;

/** Forecasts for `rows` windows: `y` is `[rows, horizon, n_targets]`, row-major. */
export type Forecaster = (x: Float32Array, t: Float64Array, rows: number) => Promise<Float32Array>;

/** A run's outputs: `y` and, for a model with quantiles, `q` `[rows, horizon, n_targets, n_quantiles]`. */
export interface Forecast {
  y: Float32Array;
  q: Float32Array | null;
}

export type QuantileForecaster = (x: Float32Array, t: Float64Array, rows: number) => Promise<Forecast>;

/** The card's quantile levels (ascending, checked by the ModelCard schema); empty: no `q` output. */
const cardQuantiles = (card: ModelCard): readonly number[] =>
  (card as { quantiles?: readonly number[] }).quantiles ?? [];

export class LoadedModel {
  private leases = 0;
  private retired = false;
  private disposed = false;
  private markReleased: () => void = () => {};
  private readonly released = new Promise<void>((resolve) => {
    this.markReleased = resolve;
  });
  readonly inputX: string;
  readonly inputT: string | null;
  readonly output: string;
  /** The `q` output's name, or null when the card lists no quantiles. */
  readonly quantileOutput: string | null;
  readonly quantiles: readonly number[];
  /** Floats per window in `x`, per forecast in `y` and in `q` (0 without quantiles). */
  readonly xSize: number;
  readonly ySize: number;
  readonly qSize: number;
  private readonly outputs: readonly string[];
  /** Floats per window of each tensor, as the micro-batcher stacks them (`tSize`: the horizon). */
  get sizes(): { xSize: number; tSize: number; ySize: number; qSize: number } {
    return { xSize: this.xSize, tSize: this.card.horizon, ySize: this.ySize, qSize: this.qSize };
  }

  private constructor(
    readonly identity: ModelIdentity,
    readonly card: ModelCard,
    private readonly session: ForecastSession,
  ) {
    const names = session.inputNames;
    this.inputX = names.includes("x") ? "x" : (names[0] as string);
    // torch.onnx.export drops inputs a graph does not use, so a model may have no `t`.
    this.inputT = names.includes("t") ? "t" : null;
    this.output = session.outputNames.includes("y") ? "y" : (session.outputNames[0] as string);
    this.quantiles = cardQuantiles(card);
    this.quantileOutput = this.quantiles.length > 0 ? "q" : null;
    if (this.quantileOutput && !session.outputNames.includes(this.quantileOutput)) {
      throw new Error(`model ${identity.run_id}: the card lists quantiles but the graph has no output 'q'`);
    }
    this.outputs = this.quantileOutput ? [this.output, this.quantileOutput] : [this.output];
    this.xSize = card.window * card.features.length;
    this.ySize = card.horizon * card.targets.length;
    this.qSize = this.ySize * this.quantiles.length;
  }

  static async create(
    identity: ModelIdentity,
    card: ModelCard,
    onnx: Uint8Array,
    settings: SessionSettings,
  ): Promise<LoadedModel> {
    const session = await createSession(onnx, settings);
    try {
      const model = new LoadedModel(identity, card, session);
      await model.warm();
      return model;
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** Runs the graph once so the first request does not pay for allocation, and checks the shapes. */
  private async warm(): Promise<void> {
    const x = new Float32Array(this.xSize);
    const t = new Float64Array(this.card.horizon);
    const now = Math.floor(Date.now() / 1000);
    for (let k = 0; k < t.length; k++) t[k] = now + (k + 1) * this.card.step_seconds;
    const { y, q } = await this.forecastAll(x, t, 1);
    if (y.length !== this.ySize) {
      throw new Error(
        `model ${this.identity.run_id} answers ${y.length} values per window, the card says ${this.ySize}`,
      );
    }
    if (q && q.length !== this.qSize) {
      throw new Error(
        `model ${this.identity.run_id} answers ${q.length} quantile values per window, the card says ${this.qSize}`,
      );
    }
  }

  /** `y` only (the batch scorer's path). */
  readonly forecast: Forecaster = async (x, t, rows) =>
    ((await this.session.run(this.feeds(x, t, rows), [this.output])) as [Float32Array])[0];

  /** `y` and, when the model has them, its quantiles `q`. */
  readonly forecastAll: QuantileForecaster = async (x, t, rows) => {
    const [y, q] = await this.session.run(this.feeds(x, t, rows), this.outputs);
    return { y: y as Float32Array, q: q ?? null };
  };

  private feeds(x: Float32Array, t: Float64Array, rows: number): Feed[] {
    const inputs: Feed[] = [
      {
        name: this.inputX,
        type: "float32",
        data: x,
        dims: [rows, this.card.window, this.card.features.length],
      },
    ];
    if (this.inputT)
      inputs.push({ name: this.inputT, type: "float64", data: t, dims: [rows, this.card.horizon] });
    return inputs;
  }

  /** Takes a lease; false when the model is retired (the caller should fetch the current one). */
  acquire(): boolean {
    if (this.retired) return false;
    this.leases++;
    return true;
  }

  release(): void {
    this.leases--;
    if (this.retired && this.leases === 0) this.dispose();
  }

  get inFlight(): number {
    return this.leases;
  }

  /** No new leases; resolves once the last lease is returned and the session is released. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.leases === 0) this.dispose();
    return this.released;
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.release().then(this.markReleased, this.markReleased);
  }
}
