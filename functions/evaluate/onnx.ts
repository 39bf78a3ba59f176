/** Runs a model artifact (model.onnx: x float32 [b,window,f], t float64 [b,horizon] → y [b,horizon,k]). */
import * as ort from "onnxruntime-node";
import type { WindowBatch } from "./windows.ts";

export class ModelRunError extends Error {}

export async function predict(
  modelBytes: Uint8Array,
  inputs: WindowBatch,
  shape: { window: number; nFeatures: number; horizon: number; nTargets: number },
  batchSize = 1024,
): Promise<Float32Array> {
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
    const out = new Float32Array(inputs.n * horizon * nTargets);
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
      const result = await session.run(feeds);
      const y = result[outName];
      if (!y) throw new ModelRunError(`model returned no '${outName}'`);
      const expected = b * horizon * nTargets;
      if (y.data.length !== expected) {
        throw new ModelRunError(
          `model output '${outName}' has shape [${y.dims.join(", ")}], expected [${b}, ${horizon}, ${nTargets}]`,
        );
      }
      // Copied as they are: a non-finite value is the scorer's to refuse (score-run.ts).
      out.set(y.data as Float32Array | Float64Array, start * horizon * nTargets);
    }
    return out;
  } finally {
    await session.release();
  }
}
