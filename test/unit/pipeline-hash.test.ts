import { describe, expect, it } from "vitest";
import { canonicalJson, configHash, sha256Hex } from "../../functions/common/hash.ts";

describe("canonicalJson", () => {
  it("sorts object keys recursively and writes no whitespace", () => {
    const text = canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x y" } });
    expect(text).toBe('{"a":{"c":"x y","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("gives the same text for the same value built in any key order", () => {
    const one = { window: 10, split: { kind: "fraction", test_fraction: 0.2 }, targets: ["down", "up"] };
    const two = { targets: ["down", "up"], split: { test_fraction: 0.2, kind: "fraction" }, window: 10 };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it("keeps array order (it is meaningful)", () => {
    expect(canonicalJson(["up", "down"])).not.toBe(canonicalJson(["down", "up"]));
  });

  it.each([
    ["NaN", { a: Number.NaN }, /a: NaN has no JSON representation/],
    ["Infinity", { a: [1, Number.POSITIVE_INFINITY] }, /a\[1\]: Infinity/],
    ["undefined", { a: undefined }, /a: undefined/],
    ["a function", { f: () => 1 }, /f: a function/],
  ])("rejects %s, naming where it is", (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(message);
  });
});

describe("configHash", () => {
  const base = {
    identifier: "PobleSec",
    settings: { window: 10, horizon: 1, nan_policy: "ffill" },
    raw: { sha256: sha256Hex("raw bytes"), test_sha256: null },
    salt: "",
  };

  it("is the SHA-256 of the canonical JSON of identifier, raw digest, salt and settings", () => {
    const expected = sha256Hex(
      `{"identifier":"PobleSec","raw":{"sha256":"${base.raw.sha256}","test_sha256":null},"salt":"","settings":{"horizon":1,"nan_policy":"ffill","window":10}}`,
    );
    expect(configHash(base)).toBe(expected);
    expect(configHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("does not depend on the key order of the settings", () => {
    expect(configHash({ ...base, settings: { nan_policy: "ffill", horizon: 1, window: 10 } })).toBe(
      configHash(base),
    );
  });

  it.each([
    ["a setting", { settings: { ...base.settings, window: 11 } }],
    ["the raw digest", { raw: { sha256: sha256Hex("other bytes"), test_sha256: null } }],
    ["the test companion's digest", { raw: { ...base.raw, test_sha256: sha256Hex("t") } }],
    ["EXTRA_HASH_SALT", { salt: "v2" }],
    ["the identifier", { identifier: "ElBorn" }],
  ])("changes with %s", (_name, change) => {
    expect(configHash({ ...base, ...change })).not.toBe(configHash(base));
  });
});
