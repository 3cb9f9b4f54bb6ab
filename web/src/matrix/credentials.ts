/**
 * The signed-in session's credentials, kept in IndexedDB next to the Rust
 * crypto store so a reload resumes without logging in again.
 */
export interface Credentials {
  baseUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
}

const DB_NAME = "sceau-session";
const STORE = "credentials";
const KEY = "current";

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function isCredentials(value: unknown): value is Credentials {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return ["baseUrl", "userId", "deviceId", "accessToken"].every((k) => typeof v[k] === "string" && v[k] !== "");
}

export async function loadCredentials(): Promise<Credentials | null> {
  try {
    const value = await run("readonly", (s) => s.get(KEY));
    return isCredentials(value) ? value : null;
  } catch {
    return null;
  }
}

export async function saveCredentials(credentials: Credentials): Promise<void> {
  await run("readwrite", (s) => s.put(credentials, KEY));
}

export async function clearCredentials(): Promise<void> {
  await run("readwrite", (s) => s.delete(KEY));
}
