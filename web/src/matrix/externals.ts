/**
 * Which users are external partners (issue 11): the server marks their
 * profile with `policy: {external: true}`, and the client shows a badge next
 * to their name. Each user's profile is asked once per session (never once
 * per message), a few requests at a time, and only for users on screen.
 *
 * The server decides by homeserver (docs/policy.md), so the people of our own
 * homeserver share our own mark: no request for them at all.
 */
import { Store } from "./store";

/** Whether a profile (or a user-directory entry) carries the external partners' mark. */
export function isExternalProfile(profile: unknown): boolean {
  if (typeof profile !== "object" || profile === null) return false;
  const policy = (profile as { policy?: unknown }).policy;
  return typeof policy === "object" && policy !== null && (policy as { external?: unknown }).external === true;
}

/** "@jeanne:partenaires.example" -> "partenaires.example". */
export function serverOf(userId: string): string {
  const colon = userId.indexOf(":");
  return colon < 0 ? "" : userId.slice(colon + 1);
}

/** Whether a user is known to be external; asks the server about an unknown one. */
export type ExternalLookup = (userId: string) => boolean;

export interface ExternalLimits {
  /** Profile requests in flight at once. */
  concurrent: number;
  /** Users remembered; the oldest answers go first past this. */
  entries: number;
}

const DEFAULT_LIMITS: ExternalLimits = { concurrent: 4, entries: 10_000 };

/** A refusal by the server (404 for an unknown user...) is an answer; a network failure is not. */
function isAnswer(error: unknown): boolean {
  const status = (error as { httpStatus?: unknown } | null)?.httpStatus;
  return typeof status === "number" && status >= 400 && status < 500;
}

export class ExternalUsers {
  /** Bumped when answers arrive: views that showed names recompute their badges. */
  readonly changes = new Store<number>(0);
  private readonly known = new Map<string, boolean>();
  private readonly queued: string[] = [];
  private readonly pending = new Set<string>();
  private inFlight = 0;

  constructor(
    private readonly fetchProfile: (userId: string) => Promise<unknown>,
    private readonly me: string,
    private readonly limits: ExternalLimits = DEFAULT_LIMITS,
  ) {}

  /** Whose profile answers for this user: ours for the people of our homeserver. */
  private keyOf(userId: string): string {
    return serverOf(userId) === serverOf(this.me) ? this.me : userId;
  }

  /** True once the user is known to be external; an unknown user's profile is asked for (once). */
  readonly lookup: ExternalLookup = (userId) => {
    if (!userId.startsWith("@")) return false;
    const key = this.keyOf(userId);
    const found = this.known.get(key);
    if (found === undefined) this.ask(key);
    return found === true;
  };

  /** An answer got elsewhere (our own profile, a directory entry). */
  learn(userId: string, external: boolean): void {
    const key = this.keyOf(userId);
    const before = this.known.get(key);
    if (before === external) return;
    this.remember(key, external);
    // An unknown user is shown as an agent: only a mark that appears or goes needs a redraw.
    if (external || before === true) this.changes.update((n) => n + 1);
  }

  private remember(key: string, external: boolean): void {
    this.known.delete(key);
    this.known.set(key, external);
    while (this.known.size > this.limits.entries) {
      const oldest = this.known.keys().next().value as string;
      this.known.delete(oldest);
    }
  }

  private ask(key: string): void {
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.queued.push(key);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.limits.concurrent && this.queued.length > 0) {
      const key = this.queued.shift()!;
      this.inFlight += 1;
      void this.fetchOne(key).finally(() => {
        this.inFlight -= 1;
        this.pending.delete(key);
        this.pump();
      });
    }
  }

  private async fetchOne(key: string): Promise<void> {
    let external: boolean;
    try {
      external = isExternalProfile(await this.fetchProfile(key));
    } catch (error) {
      if (!isAnswer(error)) return; // offline: asked again the next time the user is shown
      external = false;
    }
    this.remember(key, external);
    if (external) this.changes.update((n) => n + 1);
  }
}
