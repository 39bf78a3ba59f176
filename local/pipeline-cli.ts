/**
 * `npm run pipeline -- --data <csv> [--identifier <id>] [--max-epochs N] [--timeout SECONDS]`
 *
 * Brings the local services up if needed, starts the local runtime in this process, uploads the CSV
 * (and its `<name>_test.csv` companion, first), reports each stage on stderr (stage logs go to
 * `.flts/logs/`), waits for the promotion decision, and prints one JSON summary as its LAST stdout
 * line. On failure it exits non-zero naming the stage that failed.
 */
import { routeLogsToFiles } from "./log-files.ts";
import { eventsFdFromEnv, reporter } from "./pipeline/events.ts";
import { PIPELINE_USAGE, parsePipelineArgs, UsageError } from "./pipeline/options.ts";
import { runPipeline } from "./pipeline/run.ts";
import { MissingPrerequisiteError } from "./prerequisites.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// stdout carries exactly one thing, the summary; people-facing lines go to stderr, log records to files.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
const logs = routeLogsToFiles();

async function main(): Promise<number> {
  const options = parsePipelineArgs(process.argv.slice(2));
  if (options === "help") {
    process.stderr.write(`${PIPELINE_USAGE}\n`);
    return 0;
  }
  process.stderr.write(`[pipeline] ${options.identifier}: logs of the stages and trainers in ${logs}\n`);
  const events = reporter(Date.now(), eventsFdFromEnv());
  try {
    const { summary, exitCode } = await runPipeline(options, events.report);
    if (summary) writeStdout(`${JSON.stringify(summary)}\n`);
    return exitCode;
  } finally {
    await events.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`stage input failed: ${error.message}\n`);
      process.exit(2);
    }
    const message =
      error instanceof MissingPrerequisiteError
        ? error.message
        : `stage pipeline failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  },
);
