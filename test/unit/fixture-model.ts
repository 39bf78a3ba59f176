/** A trained fixture model of test/fixtures/models for unit tests: card, graph and the trainer's own answers. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelCard } from "../../functions/common/contracts.ts";
import { repoRoot } from "../../local/paths.ts";

interface FixtureExpected {
  x: number[][][];
  t: number[][];
  y: number[][][];
  /** `[window, horizon, target, level]`, for a model with quantiles. */
  q: number[][][][];
}

export function fixtureModel(name: "gru" | "linear30") {
  const dir = join(repoRoot, "test", "fixtures", "models", name);
  const card = ModelCard.parse(JSON.parse(readFileSync(join(dir, "model.json"), "utf8")));
  const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as FixtureExpected;
  return {
    card,
    onnx: readFileSync(join(dir, "model.onnx")),
    expected,
    identity: {
      scope: "unit",
      run_id: card.run_id,
      model_type: card.model_type,
      model_uri: "s3://b/runs/x/model.onnx",
    },
    /** Window `i`'s `x`, flattened as the session takes it. */
    xOf: (i: number) => Float32Array.from((expected.x[i] as number[][]).flat()),
    /** Window `i`'s step times. */
    tOf: (i: number) => Float64Array.from(expected.t[i] as number[]),
  };
}
