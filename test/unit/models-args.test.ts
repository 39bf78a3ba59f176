import { describe, expect, it } from "vitest";
import { parseModelsArgs, UsageError } from "../../local/models/args.ts";
import { table } from "../../local/models/table.ts";

describe("npm run models arguments", () => {
  it("parses each verb", () => {
    expect(parseModelsArgs(["list"])).toEqual({ verb: "list", json: false });
    expect(parseModelsArgs(["promote", "r-1", "--identifier", "X", "--reason", "why", "--json"])).toEqual({
      verb: "promote",
      run_id: "r-1",
      identifier: "X",
      reason: "why",
      json: true,
    });
    expect(parseModelsArgs(["rollback", "--identifier", "X"])).toMatchObject({ verb: "rollback" });
    expect(parseModelsArgs([])).toBe("help");
  });

  it.each([
    [["frobnicate"], /unknown verb 'frobnicate'/],
    [["promote", "r-1"], /identifier: /],
    [["rollback"], /identifier: /],
    [["show"], /run_id: /],
    [["promote", "../x", "--identifier", "X"], /run_id: letters/],
    [["rollback", "r-1", "--identifier", "X"], /unexpected argument 'r-1'/],
    [["list", "--bogus"], /bogus/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseModelsArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseModelsArgs(argv as string[])).toThrow(message);
  });

  it("pads table columns to the widest cell", () => {
    expect(table(["a", "bb"], [["xxx", "y"]])).toBe("a    bb\nxxx  y");
  });
});
