/** evaluate Lambda: MSK `model-training` → evaluateMessage. */
import { ModelTrainingMessage } from "../common/contracts.ts";
import { kafkaLambda } from "../common/lambda.ts";
import { evaluateMessage } from "./evaluate.ts";

export const schema = ModelTrainingMessage;
export const handle = evaluateMessage;
export const handler = kafkaLambda("evaluate", schema, handle);
