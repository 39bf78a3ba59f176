/** train-dispatch Lambda: MSK `training-data` → dispatchTraining. */
import { TrainingDataMessage } from "../common/contracts.ts";
import { kafkaLambda } from "../common/lambda.ts";
import { dispatchTraining } from "./dispatch.ts";

export const schema = TrainingDataMessage;
export const handle = dispatchTraining;
export const handler = kafkaLambda("train-dispatch", schema, handle);
