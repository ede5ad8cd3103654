/** The walrus backend's HTTP API (`walrus serve`): JSON in and out, errors as ApiError. */

export class ApiError extends Error {
  /** HTTP status; 0 when the backend did not answer at all. */
  readonly status: number;
  /** The backend's error code (`{"error": {"code", "message"}}`), e.g. "BlobNotFound". */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface Api {
  /** Absolute URL of an API path (for links and downloads). */
  url(path: string, query?: Query): string;
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: BodyInit | object, query?: Query): Promise<T>;
  /** Raw response of a GET (downloads); throws ApiError on a non-2xx status. */
  fetchRaw(path: string, query?: Query): Promise<Response>;
}

export function createApi(base: string = window.location.origin): Api {
  const url = (path: string, query?: Query): string => {
    const target = new URL(path, base);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) target.searchParams.set(key, String(value));
    }
    return target.toString();
  };

  const send = async (path: string, init: RequestInit, query?: Query): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(url(path, query), init);
    } catch {
      throw new ApiError(
        0,
        "BackendUnreachable",
        `The walrus backend at ${base} does not answer. Is \`walrus serve\` running?`,
      );
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  };

  return {
    url,
    async get<T>(path: string, query?: Query): Promise<T> {
      const response = await send(path, { headers: { Accept: "application/json" } }, query);
      return (await response.json()) as T;
    },
    async post<T>(path: string, body?: BodyInit | object, query?: Query): Promise<T> {
      const isJson = body !== undefined && !isBodyInit(body);
      const init: RequestInit = {
        method: "POST",
        headers: isJson
          ? { "Content-Type": "application/json", Accept: "application/json" }
          : { Accept: "application/json" },
        body: isJson ? JSON.stringify(body) : (body as BodyInit | undefined),
      };
      const response = await send(path, init, query);
      return (await response.json()) as T;
    },
    fetchRaw(path: string, query?: Query): Promise<Response> {
      return send(path, {}, query);
    },
  };
}

function isBodyInit(body: unknown): body is BodyInit {
  return (
    typeof body === "string" ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof FormData ||
    body instanceof URLSearchParams
  );
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const parsed = (await response.json()) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message) {
      return new ApiError(response.status, parsed.error.code ?? "Error", parsed.error.message);
    }
  } catch {
    // not JSON: fall through
  }
  return new ApiError(
    response.status,
    `Http${response.status}`,
    `The backend answered ${response.status} ${response.statusText}`.trim(),
  );
}
