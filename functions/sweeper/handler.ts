/** sweeper Lambda: an EventBridge schedule → sweep. */
import { scheduleLambda } from "../common/lambda.ts";
import { sweep } from "./sweep.ts";

export const handle = sweep;
// EventBridge's event carries nothing the sweep needs.
export const handler = scheduleLambda("sweeper", (_event, ctx) => sweep(null, ctx));
