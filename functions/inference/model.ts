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
  /** Floats per window in `x` and per forecast in `y`. */
  readonly xSize: number;
  readonly ySize: number;

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
    this.xSize = card.window * card.features.length;
    this.ySize = card.horizon * card.targets.length;
  }

  static async create(
    identity: ModelIdentity,
    card: ModelCard,
    onnx: Uint8Array,
    settings: SessionSettings,
  ): Promise<LoadedModel> {
    const session = await createSession(onnx, settings);
    const model = new LoadedModel(identity, card, session);
    try {
      await model.warm();
    } catch (error) {
      await session.release();
      throw error;
    }
    return model;
  }

  /** Runs the graph once so the first request does not pay for allocation, and checks the shapes. */
  private async warm(): Promise<void> {
    const x = new Float32Array(this.xSize);
    const t = new Float64Array(this.card.horizon);
    const now = Math.floor(Date.now() / 1000);
    for (let k = 0; k < t.length; k++) t[k] = now + (k + 1) * this.card.step_seconds;
    const y = await this.forecast(x, t, 1);
    if (y.length !== this.ySize) {
      throw new Error(
        `model ${this.identity.run_id} answers ${y.length} values per window, the card says ${this.ySize}`,
      );
    }
  }

  readonly forecast: Forecaster = (x, t, rows) => {
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
    return this.session.run(inputs, this.output);
  };

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
