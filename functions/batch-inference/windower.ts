/**
 * Sliding windows over a stream of row blocks, built with the training gap rule
 * (functions/evaluate/windows.ts: windowStarts, buildInputs, buildTargets). The last
 * `window + horizon - 1` rows of each block are carried into the next, so every window is built
 * once whatever the block boundaries. A window whose feature rows hold a non-finite cell is left out
 * (and counted); a non-finite actual stays (the forecast is written, the actual is not scored).
 */
import { buildInputs, buildTargets, type Series, windowStarts } from "../evaluate/windows.ts";
import type { Block } from "./reader.ts";

export interface WindowShape {
  features: readonly string[];
  targets: readonly string[];
  window: number;
  horizon: number;
  gapToleranceSeconds: number;
}

export interface WindowSet {
  n: number;
  /** [n, window, nFeatures] raw units, card feature order. */
  x: Float32Array;
  /** [n, horizon] Unix seconds of the rows forecast. */
  t: Float64Array;
  /** [n, horizon, nTargets] actuals (NaN where the data has none). */
  truth: Float64Array;
  /** [n, nTargets] the last observed targets (persistence). */
  last: Float64Array;
}

/** The columns to read, in the order a Block carries them: the features, then targets not among them. */
export function columnsToRead(shape: Pick<WindowShape, "features" | "targets">): string[] {
  return [...shape.features, ...shape.targets.filter((t) => !shape.features.includes(t))];
}

export class Windower {
  private readonly names: string[];
  private carry: Block | null = null;
  /** Windows left out because their rows span a gap, or a feature cell is not finite. */
  readonly skipped = { gap: 0, non_finite: 0 };

  constructor(private readonly shape: WindowShape) {
    this.names = columnsToRead(shape);
  }

  /** The windows that end in `block` (with the rows carried from the previous one). */
  push(block: Block): WindowSet {
    const series = this.join(block);
    const { window, horizon, gapToleranceSeconds } = this.shape;
    const span = window + horizon;
    const rows = series.times.length;
    const starts = windowStarts(series.times, window, horizon, gapToleranceSeconds);
    this.skipped.gap += Math.max(0, rows - span + 1) - starts.length;
    const kept = this.finiteFeatureStarts(series, starts);
    this.skipped.non_finite += starts.length - kept.length;
    this.carry = tail(series, this.names, Math.min(rows, span - 1));
    const inputs = buildInputs(series, kept, this.shape.features, window, horizon);
    const { truth, last } = buildTargets(series, kept, this.shape.targets, window, horizon);
    return { n: kept.length, x: inputs.x, t: inputs.t, truth, last };
  }

  private join(block: Block): Series {
    const carry = this.carry;
    const columns = new Map<string, Float64Array>();
    if (!carry || carry.times.length === 0) {
      this.names.forEach((name, i) => {
        columns.set(name, block.columns[i] as Float64Array);
      });
      return { times: block.times, columns };
    }
    this.names.forEach((name, i) => {
      columns.set(name, concat(carry.columns[i] as Float64Array, block.columns[i] as Float64Array));
    });
    return { times: concat(carry.times, block.times), columns };
  }

  /** Starts whose `window` feature rows are all finite (a running count of bad rows). */
  private finiteFeatureStarts(series: Series, starts: number[]): number[] {
    const n = series.times.length;
    const bad = new Int32Array(n + 1);
    const cols = this.shape.features.map((f) => series.columns.get(f) as Float64Array);
    for (let r = 0; r < n; r++) {
      let ok = 1;
      for (const col of cols) if (!Number.isFinite(col[r] as number)) ok = 0;
      bad[r + 1] = (bad[r] as number) + (1 - ok);
    }
    const w = this.shape.window;
    return starts.filter((s) => (bad[s + w] as number) - (bad[s] as number) === 0);
  }
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Copies of the last `rows` rows (a block's buffers are reused by nobody, but copies keep it simple). */
function tail(series: Series, names: readonly string[], rows: number): Block {
  const from = series.times.length - rows;
  return {
    times: series.times.slice(from),
    columns: names.map((name) => (series.columns.get(name) as Float64Array).slice(from)),
  };
}
