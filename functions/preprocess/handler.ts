/** preprocess Lambda: S3 ObjectCreated on the raw bucket → preprocessObject. */
import { s3Lambda } from "../common/lambda.ts";
import { preprocessObject } from "./preprocess.ts";

export const handle = preprocessObject;
export const handler = s3Lambda("preprocess", handle);
