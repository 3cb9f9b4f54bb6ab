/**
 * Sign-in and registration (user-interactive auth) with plain HTTP. The
 * returned credentials are what the logged-in session starts from.
 */
import type { Credentials } from "./credentials";
import { MatrixHttpError, request } from "./http";

export type LoginIdentifier =
  | { type: "m.id.user"; user: string }
  | { type: "m.id.thirdparty"; medium: "email"; address: string };

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** "@alice:hs", "alice" or "alice@agency.gouv.fr": the login form takes any. */
export function identifierFor(input: string): LoginIdentifier {
  const value = input.trim();
  if (!value.startsWith("@") && EMAIL.test(value)) {
    return { type: "m.id.thirdparty", medium: "email", address: value.toLowerCase() };
  }
  return { type: "m.id.user", user: value };
}

interface LoginResponse {
  user_id: string;
  device_id: string;
  access_token: string;
  well_known?: { "m.homeserver"?: { base_url?: string } };
}

export async function login(
  baseUrl: string,
  identifier: string,
  password: string,
  deviceName: string,
): Promise<Credentials> {
  const response = await request<LoginResponse>(baseUrl, "POST", "/_matrix/client/v3/login", {
    type: "m.login.password",
    identifier: identifierFor(identifier),
    password,
    initial_device_display_name: deviceName,
  });
  return {
    baseUrl,
    userId: response.user_id,
    deviceId: response.device_id,
    accessToken: response.access_token,
  };
}

export async function logoutToken(baseUrl: string, accessToken: string): Promise<void> {
  await request(baseUrl, "POST", "/_matrix/client/v3/logout", {}, accessToken);
}

// ---- password rules -------------------------------------------------------

export interface PasswordPolicy {
  minLength: number;
  requireDigit: boolean;
  requireSymbol: boolean;
  requireLowercase: boolean;
  requireUppercase: boolean;
}

export type PasswordRule = "minLength" | "digit" | "symbol" | "lowercase" | "uppercase";

function policyField(body: Record<string, unknown>, name: string): unknown {
  return body[`m.${name}`] ?? body[`org.matrix.msc2000.${name}`];
}

export function parsePasswordPolicy(body: Record<string, unknown>): PasswordPolicy {
  const min = policyField(body, "minimum_length");
  return {
    minLength: typeof min === "number" && min > 0 ? min : 0,
    requireDigit: policyField(body, "require_digit") === true,
    requireSymbol: policyField(body, "require_symbol") === true,
    requireLowercase: policyField(body, "require_lowercase") === true,
    requireUppercase: policyField(body, "require_uppercase") === true,
  };
}

/** The server's rules, or null when it does not publish any (404 included). */
export async function fetchPasswordPolicy(baseUrl: string): Promise<PasswordPolicy | null> {
  for (const path of ["/_matrix/client/v3/password_policy", "/_matrix/client/unstable/org.matrix.msc2000/password_policy"]) {
    try {
      return parsePasswordPolicy(await request<Record<string, unknown>>(baseUrl, "GET", path));
    } catch {
      // try the next path, then give up quietly
    }
  }
  return null;
}

/** Each rule of the policy with whether the password meets it, in display order. */
export function checkPassword(policy: PasswordPolicy, password: string): { rule: PasswordRule; ok: boolean }[] {
  const rules: { rule: PasswordRule; ok: boolean }[] = [];
  if (policy.minLength > 0) rules.push({ rule: "minLength", ok: [...password].length >= policy.minLength });
  if (policy.requireLowercase) rules.push({ rule: "lowercase", ok: /\p{Ll}/u.test(password) });
  if (policy.requireUppercase) rules.push({ rule: "uppercase", ok: /\p{Lu}/u.test(password) });
  if (policy.requireDigit) rules.push({ rule: "digit", ok: /\p{Nd}/u.test(password) });
  if (policy.requireSymbol) rules.push({ rule: "symbol", ok: /[^\p{L}\p{Nd}]/u.test(password) });
  return rules;
}

// ---- registration (user-interactive auth) -----------------------------------

export const SUPPORTED_STAGES = [
  "m.login.dummy",
  "m.login.registration_token",
  "m.login.email.identity",
  "m.login.terms",
] as const;

export interface UiaState {
  session: string;
  flows: string[][];
  completed: string[];
  params: Record<string, unknown>;
  errcode?: string;
}

export type RegisterResult = { kind: "done"; credentials: Credentials } | { kind: "uia"; state: UiaState };

interface RegisterResponse {
  user_id: string;
  device_id: string;
  access_token: string;
}

function uiaFrom(error: unknown): UiaState | null {
  if (!(error instanceof MatrixHttpError) || error.status !== 401) return null;
  const body = error.body;
  if (!Array.isArray(body.flows)) return null;
  return {
    session: typeof body.session === "string" ? body.session : "",
    flows: (body.flows as { stages?: unknown }[]).map((f) => (Array.isArray(f.stages) ? (f.stages as string[]) : [])),
    completed: Array.isArray(body.completed) ? (body.completed as string[]) : [],
    params: body.params && typeof body.params === "object" ? (body.params as Record<string, unknown>) : {},
    errcode: typeof body.errcode === "string" ? body.errcode : undefined,
  };
}

/** The first flow made only of stages this client can complete. */
export function chooseFlow(flows: string[][]): string[] | null {
  return flows.find((flow) => flow.every((s) => (SUPPORTED_STAGES as readonly string[]).includes(s))) ?? null;
}

/** The next stage of the chosen flow that the server has not marked completed. */
export function nextStage(state: UiaState): string | null {
  const flow = chooseFlow(state.flows);
  if (!flow) return null;
  return flow.find((s) => !state.completed.includes(s)) ?? null;
}

export interface RegisterForm {
  username: string;
  password: string;
  deviceName: string;
}

/** One round trip of POST /register; a 401 carries the next UIA step. */
export async function registerStep(
  baseUrl: string,
  form: RegisterForm,
  auth?: Record<string, unknown>,
): Promise<RegisterResult> {
  try {
    const body: Record<string, unknown> = {
      username: form.username,
      password: form.password,
      initial_device_display_name: form.deviceName,
    };
    if (auth) body.auth = auth;
    const response = await request<RegisterResponse>(baseUrl, "POST", "/_matrix/client/v3/register", body);
    return {
      kind: "done",
      credentials: {
        baseUrl,
        userId: response.user_id,
        deviceId: response.device_id,
        accessToken: response.access_token,
      },
    };
  } catch (error) {
    const state = uiaFrom(error);
    if (state) return { kind: "uia", state };
    throw error;
  }
}

/** Whether the server lets people register at all (403 means closed). */
export async function registrationFlows(baseUrl: string): Promise<string[][] | null> {
  try {
    await request(baseUrl, "POST", "/_matrix/client/v3/register", {});
    return null;
  } catch (error) {
    const state = uiaFrom(error);
    return state && chooseFlow(state.flows) ? state.flows : null;
  }
}

function randomSecret(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface EmailValidation {
  sid: string;
  clientSecret: string;
  email: string;
}

/** Ask the server to mail a validation link for the registration. */
export async function requestRegistrationEmail(baseUrl: string, email: string): Promise<EmailValidation> {
  const clientSecret = randomSecret();
  const response = await request<{ sid: string }>(baseUrl, "POST", "/_matrix/client/v3/register/email/requestToken", {
    client_secret: clientSecret,
    email,
    send_attempt: 1,
  });
  return { sid: response.sid, clientSecret, email };
}

export function stageAuth(
  stage: string,
  session: string,
  extra: { token?: string; email?: EmailValidation },
): Record<string, unknown> {
  switch (stage) {
    case "m.login.registration_token":
      return { type: stage, token: extra.token ?? "", session };
    case "m.login.email.identity":
      return {
        type: stage,
        threepid_creds: { sid: extra.email?.sid, client_secret: extra.email?.clientSecret },
        session,
      };
    default:
      return { type: stage, session };
  }
}
