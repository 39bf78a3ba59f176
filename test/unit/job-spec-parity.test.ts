/**
 * The zod TrainerJobSpec accepts and refuses what the trainer's parser does (functions/train/src/flts_train/spec.py):
 * both read test/fixtures/job-specs.json (the Python side in functions/train/tests/test_spec_parity.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { MODEL_TYPES, TrainerJobSpec } from "../../functions/common/contracts.ts";

interface ParityCase {
  name: string;
  accepted: boolean;
  field?: string;
  spec: unknown;
}
interface Corpus {
  model_types: string[];
  cases: ParityCase[];
}

const corpus = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "fixtures", "job-specs.json"), "utf8"),
) as Corpus;

/** Every dotted path an error names; an unknown key counts as the path of that key. */
function issuePaths(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String);
    const keys = issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...base, key]) : [base];
    return keys.map((path) => path.join("."));
  });
}

describe("TrainerJobSpec and the trainer's parser agree", () => {
  it("on the model types", () => {
    expect([...MODEL_TYPES]).toEqual(corpus.model_types);
  });

  it("has both verdicts in the corpus", () => {
    expect(new Set(corpus.cases.map((c) => c.accepted))).toEqual(new Set([true, false]));
  });

  it.each(corpus.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const result = TrainerJobSpec.safeParse(c.spec);
    expect(result.success, result.error?.message).toBe(c.accepted);
    if (!result.success) expect(issuePaths(result.error)).toContain(c.field);
  });
});
