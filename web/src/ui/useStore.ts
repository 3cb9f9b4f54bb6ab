import { useSyncExternalStore } from "react";
import type { ReadableStore } from "../matrix/store";

/** Subscribe a component to a view-state store. */
export function useStore<T>(store: ReadableStore<T>): T {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}
