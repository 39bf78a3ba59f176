/** The arguments of `npm run pipeline`, validated. */
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { csvFileArg, identifierArg, timeoutArg, UsageError } from "./args.ts";

export const PIPELINE_USAGE =
  "usage: npm run pipeline -- --data <file.csv> [--identifier <id>] [--max-epochs N] [--timeout SECONDS]";

export interface PipelineOptions {
  data: string;
  identifier: string;
  maxEpochs: number | null;
  /** Seconds the whole pipeline may take. */
  timeout: number;
  /** The `<name>_test.csv` beside the data, uploaded first and used as the test split. */
  testFile: string | null;
}

export function parsePipelineArgs(argv: string[]): PipelineOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" },
      identifier: { type: "string" },
      "max-epochs": { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const data = csvFileArg("data", values.data, PIPELINE_USAGE);
  if (/_test\.csv$/i.test(data))
    throw new UsageError("--data: pass the main file, not its _test.csv companion");
  const identifier = identifierArg(values.identifier ?? basename(data).replace(/\.csv$/i, ""));
  const maxEpochs = values["max-epochs"] === undefined ? null : Number(values["max-epochs"]);
  if (maxEpochs !== null && (!Number.isInteger(maxEpochs) || maxEpochs < 1))
    throw new UsageError(`--max-epochs must be a positive integer, got '${values["max-epochs"]}'`);
  const timeout = timeoutArg(values.timeout, 1800);
  const testFile = join(dirname(data), `${basename(data).replace(/\.csv$/i, "")}_test.csv`);
  return { data, identifier, maxEpochs, timeout, testFile: existsSync(testFile) ? testFile : null };
}
