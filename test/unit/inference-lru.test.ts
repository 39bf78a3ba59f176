import { describe, expect, it } from "vitest";
import { Lru } from "../../functions/inference/lru.ts";

describe("Lru", () => {
  it("evicts the least recently used entry and reports it", () => {
    const evicted: string[] = [];
    const lru = new Lru<string, number>(2, (key) => evicted.push(key));
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.get("a")).toBe(1);
    lru.set("c", 3);
    expect(evicted).toEqual(["b"]);
    expect([...lru.keys()]).toEqual(["a", "c"]);
    expect(lru.peek("a")).toBe(1);
    lru.set("d", 4);
    expect(evicted).toEqual(["b", "a"]);
  });

  it("stores nothing with capacity 0", () => {
    const lru = new Lru<string, number>(0);
    lru.set("a", 1);
    expect(lru.get("a")).toBeUndefined();
    expect(lru.size).toBe(0);
  });
});
