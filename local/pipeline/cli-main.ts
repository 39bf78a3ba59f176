/**
 * The process side of the local CLIs that follow stages (`npm run pipeline`, `npm run score`): stdout
 * carries exactly one thing, the JSON summary (the last line); people-facing lines go to stderr, log
 * records to files under `.flts/logs/`. Exit codes: what `main` returns, 2 for a bad argument, 1 for
 * any other failure (the message names the stage).
 */
import { routeLogsToFiles } from "../log-files.ts";
import { MissingPrerequisiteError } from "../prerequisites.ts";
import { UsageError } from "./args.ts";

export interface CliIo {
  /** Writes to the real stdout (process.stdout is stderr while the CLI runs). */
  writeStdout: (text: string) => void;
  /** The folder the log records go to. */
  logs: string;
}

export function runStageCli(name: string, main: (io: CliIo) => Promise<number>): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const stdout = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  const logs = routeLogsToFiles();
  main({ writeStdout: (text) => stdout(text), logs }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`stage input failed: ${error.message}\n`);
        process.exit(2);
      }
      const message =
        error instanceof MissingPrerequisiteError
          ? error.message
          : `stage ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    },
  );
}
