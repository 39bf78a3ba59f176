/** batch-inference Lambda: MSK `inference-data` → scoreClaimCheck. */
import { InferenceDataMessage } from "../common/contracts.ts";
import { kafkaLambda } from "../common/lambda.ts";
import { scoreClaimCheck } from "./batch.ts";

export const schema = InferenceDataMessage;
export const handle = scoreClaimCheck;
export const handler = kafkaLambda("batch-inference", schema, handle);
