/**
 * Runs a model artifact (model.onnx: x float32 [b,window,f], t float64 [b,horizon] → y [b,horizon,k],
 * and, for a model whose card lists quantile levels, q [b,horizon,k,nq]).
 */
import * as ort from "onnxruntime-node";
import type { WindowBatch } from "./windows.ts";

export class ModelRunError extends Error {}

export interface ModelShape {
  window: number;
  nFeatures: number;
  horizon: number;
  nTargets: number;
  /** How many quantile levels the card lists; 0 (default): `q` is neither required nor read. */
  nQuantiles?: number;
}

export interface ModelOutputs {
  /** [n, horizon, nTargets] row-major. */
  y: Float32Array;
  /** [n, horizon, nTargets, nQuantiles] row-major; null when the card lists no levels. */
  q: Float32Array | null;
}

function checked(
  tensor: ort.Tensor | undefined,
  name: string,
  dims: readonly number[],
): Float32Array | Float64Array {
  if (!tensor) throw new ModelRunError(`model returned no '${name}'`);
  const expected = dims.reduce((a, b) => a * b, 1);
  if (tensor.data.length !== expected)
    throw new ModelRunError(
      `model output '${name}' has shape [${tensor.dims.join(", ")}], expected [${dims.join(", ")}]`,
    );
  return tensor.data as Float32Array | Float64Array;
}

export async function predict(
  modelBytes: Uint8Array,
  inputs: WindowBatch,
  shape: ModelShape,
  batchSize = 1024,
): Promise<ModelOutputs> {
  const session = await ort.InferenceSession.create(modelBytes, {
    intraOpNumThreads: 2,
    graphOptimizationLevel: "all",
  });
  try {
    if (!session.inputNames.includes("x"))
      throw new ModelRunError(`model has no input 'x' (inputs: ${session.inputNames.join(", ")})`);
    const outName = session.outputNames.includes("y") ? "y" : session.outputNames[0];
    if (!outName) throw new ModelRunError("model has no output");
    const { window, nFeatures, horizon, nTargets } = shape;
    const nq = shape.nQuantiles ?? 0;
    if (nq > 0 && !session.outputNames.includes("q"))
      throw new ModelRunError(
        `the card lists ${nq} quantile level(s) but the model has no output 'q' (outputs: ${session.outputNames.join(", ")})`,
      );
    const fetches = nq > 0 ? [outName, "q"] : [outName];
    const y = new Float32Array(inputs.n * horizon * nTargets);
    const q = nq > 0 ? new Float32Array(inputs.n * horizon * nTargets * nq) : null;
    for (let start = 0; start < inputs.n; start += batchSize) {
      const b = Math.min(batchSize, inputs.n - start);
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor(
          "float32",
          inputs.x.subarray(start * window * nFeatures, (start + b) * window * nFeatures),
          [b, window, nFeatures],
        ),
      };
      if (session.inputNames.includes("t")) {
        feeds.t = new ort.Tensor("float64", inputs.t.subarray(start * horizon, (start + b) * horizon), [
          b,
          horizon,
        ]);
      }
      const result = await session.run(feeds, fetches);
      // Copied as they are: a non-finite value is the scorer's to refuse (score-run.ts).
      y.set(checked(result[outName], outName, [b, horizon, nTargets]), start * horizon * nTargets);
      if (q) q.set(checked(result.q, "q", [b, horizon, nTargets, nq]), start * horizon * nTargets * nq);
    }
    return { y, q };
  } finally {
    await session.release();
  }
}
