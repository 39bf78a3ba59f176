/** sweeper Lambda: an EventBridge schedule → sweep. */
import { scheduleLambda } from "../common/lambda.ts";
import { sweep } from "./sweep.ts";

export const handle = sweep;
export const handler = scheduleLambda("sweeper", sweep);
