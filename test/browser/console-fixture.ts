/**
 * A served model with a real decision and series beside it: the reference-data slice preprocessed,
 * the three fixture models placed as its finished runs, the real evaluate (policy `always`), and a
 * service for the identifier.
 */
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import type { EvaluationDecision } from "../../functions/common/contracts.ts";
import { evaluateMessage } from "../../functions/evaluate/evaluate.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import { startService, waitReady } from "../integration/inference-harness.ts";
import {
  placeFixtureRun,
  stageAndPreprocess,
  testContext,
  uniqueId,
} from "../integration/pipeline-helpers.ts";

export interface ConsoleFixture {
  identifier: string;
  decision: EvaluationDecision;
  service: InferenceService;
  close(): Promise<void>;
}

export async function consoleFixture(env: Record<string, string> = {}): Promise<ConsoleFixture> {
  const ctx: StageContext = await testContext("console");
  const identifier = uniqueId("console");
  const result = await stageAndPreprocess(ctx, identifier);
  const settings = loadEvaluateSettings({
    EXPECTED_MODEL_TYPES: "GRU,LSTM,PROPHET",
    PROMOTION_POLICY: "always",
  });
  let decision: EvaluationDecision | null = null;
  for (const type of ["GRU", "LSTM", "PROPHET"] as const) {
    const message = await placeFixtureRun(ctx, identifier, result.config_hash, result.claim, type);
    const out = await evaluateMessage(message, ctx, settings);
    if (out.status === "decided") decision = out.decision;
  }
  if (!decision?.promoted) throw new Error(`no promotion for ${identifier}: ${decision?.reason}`);
  const service = await startService({
    MODEL_IDENTIFIER: identifier,
    GLOBAL_FALLBACK: "0",
    KAFKA_LISTEN: "0",
    POINTER_POLL_MS: "0",
    ...env,
  });
  await waitReady(service);
  return {
    identifier,
    decision,
    service,
    close: async () => {
      await service.stop();
      await closeStageContext(ctx);
    },
  };
}
