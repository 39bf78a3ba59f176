/** `npm run models -- <verb> ...`: the arguments, validated (a bad one names itself). */
import { parseArgs } from "node:util";
import { z } from "zod";
import { describeIssues, IdentifierField, RunIdField } from "../../functions/common/contracts.ts";

export const MODELS_USAGE = `usage: npm run models -- <verb> [options] [--json]
  list [--identifier X]                          champions and candidates with their scores
  show <run_id>                                  one run: card, state, score, champion of
  history --identifier X                         the promotion history, oldest first
  promote <run_id> --identifier X [--reason T]   manual promotion (pointers, history, model-selected)
  rollback --identifier X [--reason T]           back to the champion before the current one`;

export class UsageError extends Error {}

const Reason = z.string().min(1).max(500).optional();
const Command = z.discriminatedUnion("verb", [
  z.object({ verb: z.literal("list"), identifier: IdentifierField.optional() }),
  z.object({ verb: z.literal("show"), run_id: RunIdField }),
  z.object({ verb: z.literal("history"), identifier: IdentifierField }),
  z.object({ verb: z.literal("promote"), run_id: RunIdField, identifier: IdentifierField, reason: Reason }),
  z.object({ verb: z.literal("rollback"), identifier: IdentifierField, reason: Reason }),
]);
export type ModelsCommand = z.infer<typeof Command> & { json: boolean };

export function parseModelsArgs(argv: string[]): ModelsCommand | "help" {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        identifier: { type: "string" },
        reason: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return "help";
  const [verb, runId, ...extra] = positionals;
  const takesRun = verb === "show" || verb === "promote";
  if (extra.length > 0 || (!takesRun && runId !== undefined))
    throw new UsageError(`unexpected argument '${takesRun ? extra[0] : runId}'`);
  const result = Command.safeParse({
    verb,
    run_id: runId,
    identifier: values.identifier,
    reason: values.reason,
  });
  if (!result.success) {
    const unknownVerb = !["list", "show", "history", "promote", "rollback"].includes(verb as string);
    throw new UsageError(unknownVerb ? `unknown verb '${verb}'` : describeIssues(result.error));
  }
  return { ...result.data, json: values.json === true };
}
