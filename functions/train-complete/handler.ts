/** train-complete Lambda: S3 ObjectCreated on runs/<run_id>/_SUCCESS or _FAILED → completeRun. */
import { s3Lambda } from "../common/lambda.ts";
import { completeRun } from "./complete.ts";

export const handle = completeRun;
export const handler = s3Lambda("train-complete", handle);
