/** The lease rule, the sweeper's key scans and the consumer's identifier probe (no services). */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../functions/common/settings.ts";
import { groupEvaluationKeys, mayNeedNudge } from "../../functions/sweeper/deadline.ts";
import { leaseVerdict } from "../../functions/sweeper/lease.ts";
import { loadLeaseSettings } from "../../functions/sweeper/settings.ts";
import { openRunIds } from "../../functions/sweeper/sweep.ts";
import { identifierIn } from "../../local/runtime/consumer.ts";

const settings = { leaseSeconds: 120, startLeaseSeconds: 1800 };
const t0 = "2026-01-01T00:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(t0) + seconds * 1000);

describe("leaseVerdict", () => {
  it("counts silence from the last heartbeat against RUN_LEASE_SECONDS", () => {
    expect(leaseVerdict(t0, t0, settings, at(119)).expired).toBe(false);
    const dead = leaseVerdict(t0, t0, settings, at(121));
    expect(dead).toMatchObject({ expired: true });
    expect(dead.expired && dead.reason).toBe("lease expired: no heartbeat for 121 s (RUN_LEASE_SECONDS=120)");
  });

  it("before the first heartbeat, allows RUN_START_LEASE_SECONDS from created_at", () => {
    expect(leaseVerdict(t0, null, settings, at(1799)).expired).toBe(false);
    const dead = leaseVerdict(t0, null, settings, at(1800));
    expect(dead.expired && dead.reason).toMatch(/^lease expired: no heartbeat for 1800 s since dispatch/);
  });

  it("a recent heartbeat keeps an old run alive; a record without a valid time is expired", () => {
    expect(leaseVerdict(t0, at(5000).toISOString(), settings, at(5100)).expired).toBe(false);
    const bad = leaseVerdict("yesterday", null, settings, at(0));
    expect(bad.expired && bad.reason).toMatch(/created_at 'yesterday' is not a time/);
  });
});

describe("loadLeaseSettings", () => {
  it("reads the defaults and rejects bad values naming the variable", () => {
    expect(loadLeaseSettings({})).toEqual(settings);
    expect(() => loadLeaseSettings({ RUN_LEASE_SECONDS: "soon" })).toThrow(
      /RUN_LEASE_SECONDS must be a number/,
    );
    expect(() => loadLeaseSettings({ RUN_START_LEASE_SECONDS: "0" })).toThrow(
      /RUN_START_LEASE_SECONDS must be > 0/,
    );
    expect(() => loadLeaseSettings({ RUN_LEASE_SECONDS: "40", HEARTBEAT_SECONDS: "30" })).toThrow(
      ConfigError,
    );
    expect(() => loadLeaseSettings({ RUN_LEASE_SECONDS: "40", HEARTBEAT_SECONDS: "30" })).toThrow(
      /RUN_LEASE_SECONDS \(40\) must be at least twice the trainer's HEARTBEAT_SECONDS \(30\)/,
    );
  });
});

describe("sweeper key scans", () => {
  it("open runs: a run.json and neither marker", () => {
    expect(
      openRunIds([
        "runs/a/run.json",
        "runs/a/heartbeat.json",
        "runs/b/run.json",
        "runs/b/_SUCCESS",
        "runs/c/run.json",
        "runs/c/_FAILED",
        "runs/d/job.json",
      ]),
    ).toEqual(["a"]);
  });

  it("evaluation groups that may need a nudge", () => {
    const h = "a".repeat(64);
    const g = (id: string, ...rest: string[]) => rest.map((r) => `evaluations/${id}/${h}/${r}`);
    const groups = groupEvaluationKeys([
      ...g("open", "runs/r1.RUNNING.json", "decisions/0123456789abcdef.published.json"),
      ...g(
        "done",
        "runs/r1.RUNNING.json",
        "runs/r1.SUCCESS.json",
        "decisions/0123456789abcdef.json",
        "decisions/0123456789abcdef.published.json",
      ),
      ...g("never", "runs/r1.RUNNING.json", "runs/r1.FAILED.json"),
      ...g(
        "unpublished",
        "runs/r1.SUCCESS.json",
        "decisions/0123456789abcdef.json",
        "decisions/fedcba9876543210.published.json",
      ),
      // an ENSEMBLE asked for and never seen, an earlier generation published
      ...g(
        "asked",
        "runs/r1.SUCCESS.json",
        "decisions/fedcba9876543210.published.json",
        "decisions/0123456789abcdef.ensemble.json",
      ),
    ]);
    const need = Object.fromEntries(groups.map((x) => [x.identifier, mayNeedNudge(x)]));
    expect(need).toEqual({ open: true, done: false, never: true, unpublished: true, asked: true });
  });
});

describe("identifierIn (an undecodable message's identifier)", () => {
  it("is the string identifier of a JSON object, else null", () => {
    expect(identifierIn('{"identifier":"X","bucket":5}')).toBe("X");
    expect(identifierIn('{"bucket":5}')).toBeNull();
    expect(identifierIn('{"identifier":7}')).toBeNull();
    expect(identifierIn("not json")).toBeNull();
    expect(identifierIn("null")).toBeNull();
  });
});
