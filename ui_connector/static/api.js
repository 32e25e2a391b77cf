// The UI connector's REST side: /register for a short-lived JWT, and the Dialogflow proxy.
// The token lives only in this object: never in the DOM, in storage or in the console.

// What this page sends to /register. The local stack accepts any desktop (AUTH_OPTION=Skip);
// in production the operator's check_auth (or AUTH_OPTION provider) decides.
const DESKTOP_CREDENTIAL = 'Bearer local-desktop';
const API_VERSION = 'v2beta1';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export class Connector {
  #token = null;
  #user = 'agent';
  #registration = null;
  #renewalListeners = [];

  /** The current JWT, for the Socket.IO handshake; null before a successful sign-in. */
  get token() {
    return this.#token;
  }

  /** Registers as `user`; rejects with an ApiError saying why the connector refused. */
  async signIn(user) {
    this.#user = user;
    this.#token = null;
    await this.#register();
  }

  /** Registers again (the token expired or was refused) and tells the listeners. */
  async renew() {
    await this.#register();
    this.#renewalListeners.forEach((listener) => listener());
  }

  onRenewal(listener) {
    this.#renewalListeners.push(listener);
  }

  /** Calls a Dialogflow method through the proxy, `resource` being e.g. `projects/P/...:complete`. */
  async dialogflow(method, resource, body) {
    let response = await this.#send(method, resource, body);
    if (response.status === 401) {
      await this.renew();
      response = await this.#send(method, resource, body);
    }
    if (!response.ok) {
      throw new ApiError(response.status, await errorMessage(response));
    }
    return response.json();
  }

  // Concurrent callers share one registration request.
  #register() {
    this.#registration ??= this.#requestToken().finally(() => {
      this.#registration = null;
    });
    return this.#registration;
  }

  async #requestToken() {
    const response = await request('/register', {
      method: 'POST',
      headers: { Authorization: DESKTOP_CREDENTIAL, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: this.#user }),
    });
    if (!response.ok) {
      throw new ApiError(response.status, await registrationProblem(response));
    }
    this.#token = (await response.json()).token;
  }

  #send(method, resource, body) {
    const headers = { Authorization: `Bearer ${this.#token}` };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    return request(`/${API_VERSION}/${resource}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}

async function request(url, options) {
  try {
    return await fetch(url, options);
  } catch {
    throw new ApiError(0, 'the UI connector cannot be reached; check your network');
  }
}

async function registrationProblem(response) {
  if (response.status === 401) {
    return 'the UI connector did not accept this desktop (its check_auth or AUTH_OPTION refused the sign-in)';
  }
  if (response.status === 429) {
    const seconds = response.headers.get('Retry-After') || '60';
    return `too many refused sign-ins from this address; try again in ${seconds} seconds`;
  }
  return errorMessage(response);
}

/** The message of a Google-style JSON error, or the HTTP status when the body has none. */
async function errorMessage(response) {
  try {
    const { error } = await response.json();
    if (error?.message) {
      return error.message;
    }
  } catch {
    // Not JSON (a proxy's HTML error page, say): fall back to the status line.
  }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}
