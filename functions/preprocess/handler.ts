/** preprocess Lambda: S3 ObjectCreated on the raw bucket → preprocessUpload (a series, or data to score). */
import { s3Lambda } from "../common/lambda.ts";
import { preprocessUpload } from "./preprocess.ts";

export const handle = preprocessUpload;
export const handler = s3Lambda("preprocess", handle);
