/** One synthesis of the whole FLTS app per test file, shared by its tests. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { App, type Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { FunctionSpec } from "../../functions/manifest.ts";
import { buildFlts, type FltsStacks } from "../../infra/flts.ts";
import { nagReport } from "../../infra/nag.ts";

export interface SynthOptions {
  /** Extra context (`-c key=value`), on top of cdk.json. */
  context?: Record<string, unknown>;
  /** Run esbuild and the layer builds (slow); off skips asset bundling like `cdk synth --exclusively`. */
  bundling?: boolean;
  functions?: readonly FunctionSpec[];
}

export interface Synthesized extends FltsStacks {
  app: App;
  outdir: string;
  template(stack: Stack): Template;
  /** Unacknowledged cdk-nag AwsSolutions findings. */
  nag(): { errors: string[]; warnings: string[] };
  cleanup(): void;
}

export function cdkJsonContext(): Record<string, unknown> {
  const file = fileURLToPath(new URL("../../cdk.json", import.meta.url));
  return (JSON.parse(readFileSync(file, "utf8")) as { context: Record<string, unknown> }).context;
}

export function synthFlts(options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), "flts-cdk-"));
  const app = new App({
    outdir,
    context: {
      ...cdkJsonContext(),
      ...options.context,
      ...(options.bundling ? {} : { "aws:cdk:bundling-stacks": [] }),
    },
  });
  // nag is checked explicitly (nag()) so that a finding fails one test, not the whole file.
  const stacks = buildFlts(app, {
    nag: false,
    ...(options.functions ? { functions: options.functions } : {}),
  });
  app.synth();
  const cache = new Map<Stack, Template>();
  return {
    ...stacks,
    app,
    outdir,
    template(stack: Stack): Template {
      let t = cache.get(stack);
      if (!t) {
        t = Template.fromStack(stack);
        cache.set(stack, t);
      }
      return t;
    },
    nag: () => nagReport(app),
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/** Every resource of `type` in `template`, as [logicalId, resource]. */
export function resources(
  template: Template,
  type: string,
): [string, { Properties: Record<string, unknown> }][] {
  return Object.entries(template.findResources(type)) as [string, { Properties: Record<string, unknown> }][];
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: unknown;
  Principal?: unknown;
}

/** Every IAM statement of every policy, role, bucket policy and key policy in the templates. */
export function allStatements(templates: Template[]): { stack: number; id: string; statement: Statement }[] {
  const out: { stack: number; id: string; statement: Statement }[] = [];
  templates.forEach((t, stack) => {
    for (const [id, res] of Object.entries(t.toJSON().Resources ?? {}) as [
      string,
      { Type: string; Properties?: Record<string, unknown> },
    ][]) {
      const docs: unknown[] = [];
      const p = res.Properties ?? {};
      if (
        res.Type === "AWS::IAM::Policy" ||
        res.Type === "AWS::S3::BucketPolicy" ||
        res.Type === "AWS::IAM::ManagedPolicy"
      ) {
        docs.push(p.PolicyDocument);
      }
      if (res.Type === "AWS::IAM::Role") {
        for (const inline of (p.Policies as { PolicyDocument: unknown }[] | undefined) ?? [])
          docs.push(inline.PolicyDocument);
      }
      for (const doc of docs) {
        for (const statement of (doc as { Statement?: Statement[] })?.Statement ?? [])
          out.push({ stack, id, statement });
      }
    }
  });
  return out;
}

export const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];
