import { describe, expect, it, vi } from "vitest";
import { Store } from "./store";

describe("Store", () => {
  it("notifies subscribers of a new value and stops after unsubscribe", () => {
    const store = new Store(1);
    const listener = vi.fn();
    const stop = store.subscribe(listener);
    store.set(2);
    expect(store.get()).toBe(2);
    expect(listener).toHaveBeenCalledTimes(1);
    store.set(2);
    expect(listener).toHaveBeenCalledTimes(1);
    stop();
    store.update((v) => v + 1);
    expect(store.get()).toBe(3);
    expect(listener).toHaveBeenCalledTimes(1);
  });
});
