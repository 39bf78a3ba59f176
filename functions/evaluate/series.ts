/**
 * The per-window forecast series of one decision, stored beside it as
 * `evaluations/<identifier>/<config_hash>/decisions/<generation>.series.bin`: for each test window
 * the time of its first forecast step, the actual value of each target there, and the first-step
 * forecast of every scored candidate, of the champion it was compared with (when not one of them)
 * and of the persistence baseline (float32).
 *
 * Layout (little-endian): "FLTSSER1", u32 header length, the header as UTF-8 JSON, zero padding to
 * a multiple of 8, then `ts` as n float64 (Unix seconds), then each series' n×targets float32,
 * window-major, in header order. The first series is `actual`.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { putBytes } from "../common/s3.ts";
import type { TestSet } from "./score-run.ts";
import { persistencePredictions } from "./scoring.ts";

const MAGIC = "FLTSSER1";

export const SeriesHeader = z.object({
  v: z.literal(1),
  n: z.number().int().nonnegative(),
  targets: z.array(z.string()).min(1),
  horizon: z.number().int().positive(),
  series: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(["actual", "candidate", "champion", "baseline"]),
      model_type: z.string(),
    }),
  ),
});
export type SeriesHeader = z.infer<typeof SeriesHeader>;

export interface ForecastSeries {
  header: SeriesHeader;
  ts: Float64Array;
  /** One array per header series, n×targets. */
  values: Float32Array[];
}

export function encodeSeries(series: ForecastSeries): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify(series.header));
  const headerEnd = 12 + header.length;
  const dataStart = Math.ceil(headerEnd / 8) * 8;
  const n = series.header.n;
  const k = series.header.targets.length;
  const out = new Uint8Array(dataStart + n * 8 + series.values.length * n * k * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  out.set(new Uint8Array(series.ts.buffer, series.ts.byteOffset, n * 8), dataStart);
  series.values.forEach((v, i) => {
    if (v.length !== n * k) throw new Error(`series ${i} holds ${v.length} values, not ${n}×${k}`);
    out.set(new Uint8Array(v.buffer, v.byteOffset, n * k * 4), dataStart + n * 8 + i * n * k * 4);
  });
  return out;
}

export function decodeSeries(bytes: Uint8Array): ForecastSeries {
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error("not a FLTS series file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8, true);
  const header = SeriesHeader.parse(JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))));
  const dataStart = Math.ceil((12 + length) / 8) * 8;
  const { n } = header;
  const k = header.targets.length;
  const copy = bytes.slice(dataStart);
  return {
    header,
    ts: new Float64Array(copy.buffer, 0, n),
    values: header.series.map((_, i) => new Float32Array(copy.buffer, n * 8 + i * n * k * 4, n * k)),
  };
}

/** The first forecast step of every window of `pred` ([n, horizon, targets]). */
function firstStep(pred: ArrayLike<number>, n: number, horizon: number, k: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let w = 0; w < n; w++)
    for (let j = 0; j < k; j++) out[w * k + j] = pred[w * horizon * k + j] as number;
  return out;
}

export interface CandidatePredictions {
  run_id: string;
  model_type: string;
  pred: ArrayLike<number>;
  /** A candidate of this decision (default), or the champion it was compared with. */
  kind?: "candidate" | "champion";
}

/** Builds the series of a test set: actual, the candidates given, the persistence baseline. */
export function buildSeries(test: TestSet, candidates: readonly CandidatePredictions[]): ForecastSeries {
  const n = test.starts.length;
  const k = test.targets.length;
  const ts = new Float64Array(n);
  test.starts.forEach((s, w) => {
    ts[w] = test.series.times[s + test.window] as number;
  });
  const baseline = persistencePredictions(test.last, k, test.horizon);
  return {
    header: {
      v: 1,
      n,
      targets: test.targets,
      horizon: test.horizon,
      series: [
        { name: "actual", kind: "actual", model_type: "-" },
        ...candidates.map((c) => ({ name: c.run_id, kind: c.kind ?? "candidate", model_type: c.model_type })),
        { name: "persistence", kind: "baseline", model_type: "PERSISTENCE" },
      ],
    },
    ts,
    values: [
      firstStep(test.truth, n, test.horizon, k),
      ...candidates.map((c) => firstStep(c.pred, n, test.horizon, k)),
      firstStep(baseline, n, test.horizon, k),
    ],
  };
}

export async function writeSeries(
  s3: S3Client,
  bucket: string,
  key: string,
  series: ForecastSeries,
): Promise<void> {
  await putBytes(s3, bucket, key, encodeSeries(series));
}
