/** monitor Lambda: MSK `performance-eval` → monitorMessage. */
import { PerformanceEvalMessage } from "../common/contracts.ts";
import { kafkaLambda } from "../common/lambda.ts";
import { monitorMessage } from "./monitor.ts";

export const schema = PerformanceEvalMessage;
export const handle = monitorMessage;
export const handler = kafkaLambda("monitor", schema, handle);
