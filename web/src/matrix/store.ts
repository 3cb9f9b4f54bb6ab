/**
 * A value the UI subscribes to (with React's useSyncExternalStore). The
 * matrix layer owns the stores and turns SDK events into new values; views
 * only read them, so they can be tested without a DOM or a server.
 */
export type Listener = () => void;

export interface ReadableStore<T> {
  get(): T;
  subscribe(listener: Listener): () => void;
}

export class Store<T> implements ReadableStore<T> {
  private listeners = new Set<Listener>();

  constructor(private value: T) {}

  get = (): T => this.value;

  set(value: T): void {
    if (Object.is(value, this.value)) return;
    this.value = value;
    for (const listener of [...this.listeners]) listener();
  }

  update(change: (value: T) => T): void {
    this.set(change(this.value));
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
