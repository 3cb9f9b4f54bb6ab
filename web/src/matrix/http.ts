/**
 * Plain fetch calls to the client-server API for the screens shown before
 * login, so the login bundle does not carry matrix-js-sdk.
 */
export class MatrixHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class NetworkError extends Error {}

export async function request<T>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  accessToken?: string,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new NetworkError(String(error));
  }
  let json: Record<string, unknown> = {};
  try {
    json = (await response.json()) as Record<string, unknown>;
  } catch {
    // an empty or non-JSON body
  }
  if (!response.ok) {
    const errcode = typeof json.errcode === "string" ? json.errcode : "M_UNKNOWN";
    const message = typeof json.error === "string" ? json.error : response.statusText;
    throw new MatrixHttpError(response.status, errcode, message, json);
  }
  return json as T;
}
