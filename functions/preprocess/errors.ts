/** Bad input data: retrying cannot fix it, so the message goes to the DLQ at once. */
import { PermanentError } from "../common/contracts.ts";

export class DataError extends PermanentError {}
