/**
 * cdk-nag v3 acknowledgements. Rules are acknowledged with CDK's `Validations.of().acknowledge()`,
 * always with a reason. Rules that report several findings (IAM4/IAM5: one per policy or resource)
 * need each finding acknowledged by its exact id (`AwsSolutions-IAM5[Resource::...]`); `acknowledge`
 * takes a pattern for those instead, and `FltsAwsSolutionsChecks` turns each pattern into exact
 * acknowledgements while it validates (after synthesis, when cross-stack references have their final
 * form), only for the findings that match.
 */
import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

export interface NagAck {
  /** Rule id, e.g. `AwsSolutions-IAM5`. */
  id: string;
  reason: string;
  /** For multi-finding rules: which findings (the text inside `[...]`) this reason covers. */
  findings?: RegExp;
}

const patterns = new WeakMap<IConstruct, NagAck[]>();

/** Acknowledges rules on `scope` and everything below it. */
export function acknowledge(scopes: IConstruct | IConstruct[], acks: NagAck[]): void {
  for (const scope of Array.isArray(scopes) ? scopes : [scopes]) {
    for (const ack of acks) {
      if (!ack.findings) {
        Validations.of(scope).acknowledge({ id: ack.id, reason: ack.reason });
      } else {
        patterns.set(scope, [...(patterns.get(scope) ?? []), ack]);
      }
    }
  }
}

type Report = ReturnType<AwsSolutionsChecks["validateScope"]>;

/** Acknowledges each finding of `report` matched by a pattern on the resource or an ancestor. */
export function resolveFindingAcknowledgements(root: IConstruct, report: Report): number {
  const byPath = new Map(root.node.findAll().map((c) => [c.node.path, c] as const));
  let count = 0;
  for (const violation of report.violations) {
    const m = /^([^[]+)\[(.*)\]$/s.exec(violation.ruleName);
    if (!m) continue;
    const ruleId = m[1] ?? "";
    const finding = m[2] ?? "";
    for (const res of violation.violatingResources) {
      const resource = byPath.get(res.constructPath ?? "");
      for (let c: IConstruct | undefined = resource; c; c = c.node.scope) {
        const ack = patterns.get(c)?.find((a) => a.id === ruleId && a.findings?.test(finding));
        if (ack && resource) {
          Validations.of(resource).acknowledge({ id: violation.ruleName, reason: ack.reason });
          count++;
          break;
        }
      }
    }
  }
  return count;
}

/** The AwsSolutions pack, with the pattern acknowledgements of `acknowledge` applied. */
export class FltsAwsSolutionsChecks extends AwsSolutionsChecks {
  override validateScope(scope: IConstruct): Report {
    const first = super.validateScope(scope);
    if (resolveFindingAcknowledgements(scope, first) === 0) return first;
    return super.validateScope(scope);
  }
}

/** Unacknowledged AwsSolutions findings of `root` (call after synthesis), by severity. */
export function nagReport(root: IConstruct): { errors: string[]; warnings: string[] } {
  const report = new FltsAwsSolutionsChecks().validateScope(root);
  const format = (v: (typeof report.violations)[number]) =>
    `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`;
  return {
    errors: report.violations.filter((v) => v.severity === "error").map(format),
    warnings: report.violations.filter((v) => v.severity !== "error").map(format),
  };
}

/** Acknowledged findings below `root`, per rule id (findings of multi-finding rules counted one by one). */
export function acknowledgedCounts(root: IConstruct): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const key of Object.keys(entry.data as object)) {
        const id = key.replace(/^annotation::/i, "").replace(/\[.*$/s, "");
        if (!id.startsWith("AwsSolutions-")) continue;
        counts[id] = (counts[id] ?? 0) + 1;
      }
    }
  }
  return counts;
}
