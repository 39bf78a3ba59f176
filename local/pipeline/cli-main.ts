/**
 * The process side of the local CLIs that follow stages (`npm run pipeline`, `npm run score`): stdout
 * carries exactly one thing, the JSON summary (the last line); people-facing lines go to stderr (the
 * step events), log records to files under `.flts/logs/`. Exit codes: what `run` returns, 2 for a bad
 * argument, 1 for any other failure (the message names the stage).
 */
import { routeLogsToFiles } from "../log-files.ts";
import { MissingPrerequisiteError } from "../prerequisites.ts";
import { UsageError } from "./args.ts";
import { eventsFdFromEnv, type Report, reporter } from "./events.ts";
import { redrawable, StepList, type StepTitle } from "./step-list.ts";

export interface StageCli<O extends { identifier: string }> {
  name: string;
  usage: string;
  /** What the logs folder holds, for the first line. */
  logsOf: string;
  parse: (argv: string[]) => O | "help";
  run: (options: O, report: Report) => Promise<{ summary: unknown; exitCode: number }>;
  /** On a terminal, these steps are drawn as a list (listr2) instead of event lines. */
  steps?: readonly StepTitle[];
}

async function main<O extends { identifier: string }>(cli: StageCli<O>, stdout: (text: string) => void) {
  const logs = routeLogsToFiles();
  const options = cli.parse(process.argv.slice(2));
  if (options === "help") {
    process.stderr.write(`${cli.usage}\n`);
    return 0;
  }
  process.stderr.write(`[${cli.name}] ${options.identifier}: logs of ${cli.logsOf} in ${logs}\n`);
  const list = cli.steps && redrawable() ? new StepList(cli.steps) : null;
  const events = reporter(Date.now(), eventsFdFromEnv(), list ? (e) => list.push(e) : undefined);
  try {
    const { summary, exitCode } = await cli.run(options, events.report);
    await list?.close("not reached");
    if (summary) stdout(`${JSON.stringify(summary)}\n`);
    return exitCode;
  } finally {
    await list?.close("interrupted");
    await events.close();
  }
}

export function runStageCli<O extends { identifier: string }>(cli: StageCli<O>): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const stdout = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  main(cli, (text) => stdout(text)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`stage input failed: ${error.message}\n`);
        process.exit(2);
      }
      const message =
        error instanceof MissingPrerequisiteError
          ? error.message
          : `stage ${cli.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    },
  );
}
