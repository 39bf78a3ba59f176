/** model-promotion keys: pointers, history and drift records (layout: functions/common/keys.ts). */
import { HASH, matcher, NAME } from "./segments.ts";

/** The scope every identifier falls back to. */
export const GLOBAL_SCOPE = "global";

/** An ISO time as a key segment: `2026-01-31T12-00-00-000Z`. */
const keyTimestamp = (iso: string) => iso.replace(/[:.]/g, "-");

export const promotionKeys = {
  scopePrefix: (scope: string) => `${scope}/`,
  current: (scope: string) => `${scope}/current.json`,
  configCurrent: (scope: string, configHash: string) => `${scope}/${configHash}/current.json`,
  /** The history entry of a promotion at `at` (ISO-8601). */
  history: (scope: string, configHash: string, at: string) =>
    `${scope}/${configHash}/promotion-${keyTimestamp(at)}.json`,
  historyPrefix: (scope: string, configHash: string) => `${scope}/${configHash}/promotion-`,
  driftPrefix: (identifier: string) => `${identifier}/drift/`,
  /** `<id>` names the scored result, so a retried result finds its record. */
  drift: (identifier: string, runId: string, id: string) => `${identifier}/drift/${runId}-${id}.json`,
};

export type PromotionKey =
  | { kind: "current"; scope: string }
  | { kind: "config-current"; scope: string; configHash: string }
  | { kind: "history"; scope: string; configHash: string; timestamp: string }
  | { kind: "drift"; identifier: string; name: string };

const current = matcher(`(${NAME})/current\\.json`);
const configCurrent = matcher(`(${NAME})/(${HASH})/current\\.json`);
const history = matcher(`(${NAME})/(${HASH})/promotion-([0-9T-]+Z)\\.json`);
const drift = matcher(`(${NAME})/drift/(${NAME})\\.json`);

export function parsePromotionKey(key: string): PromotionKey | null {
  let m = current(key);
  if (m) return { kind: "current", scope: m[0] as string };
  m = configCurrent(key);
  if (m) return { kind: "config-current", scope: m[0] as string, configHash: m[1] as string };
  m = history(key);
  if (m)
    return { kind: "history", scope: m[0] as string, configHash: m[1] as string, timestamp: m[2] as string };
  m = drift(key);
  return m ? { kind: "drift", identifier: m[0] as string, name: m[1] as string } : null;
}
