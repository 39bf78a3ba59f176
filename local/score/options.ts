/** The arguments of `npm run score`, validated. */
import { parseArgs } from "node:util";
import { csvFileArg, identifierArg, timeoutArg, UsageError } from "../pipeline/args.ts";

export const SCORE_USAGE = "usage: npm run score -- --data <file.csv> --identifier <id> [--timeout SECONDS]";

export interface ScoreOptions {
  data: string;
  /** Whose champion scores the data. */
  identifier: string;
  /** Seconds from the start to the performance-eval message. */
  timeout: number;
}

export function parseScoreArgs(argv: string[]): ScoreOptions | "help" {
  const values = (() => {
    try {
      return parseArgs({
        args: argv,
        options: {
          data: { type: "string" },
          identifier: { type: "string" },
          timeout: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
      }).values;
    } catch (error) {
      throw new UsageError(`${(error as Error).message}\n${SCORE_USAGE}`);
    }
  })();
  if (values.help) return "help";
  const data = csvFileArg("data", values.data, SCORE_USAGE);
  if (!values.identifier)
    throw new UsageError(`--identifier is required (whose champion scores the data)\n${SCORE_USAGE}`);
  return { data, identifier: identifierArg(values.identifier), timeout: timeoutArg(values.timeout, 600) };
}
