// A minimal W3C WebDriver client over plain HTTP (Node's fetch): just what the app tests use.
// tauri-driver proxies these requests to WebKitWebDriver, which drives the real app.

export class WebDriver {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, application) {
    const reply = await call(base, "POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application } } },
    });
    return new WebDriver(base, reply.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  quit() {
    return this.cmd("DELETE", "");
  }

  /** Runs `body` (a function body; `arguments` are `args`) in the current window. */
  exec(body, ...args) {
    return this.cmd("POST", "/execute/sync", { script: body, args });
  }

  /** Runs `body` (an async function body; `arguments` are `args`), awaiting its result. */
  execAsync(body, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      (async (...args) => { ${body} })(...Array.from(arguments).slice(0, -1))
        .then((v) => done({ ok: v }), (e) => done({ err: (e && e.message) || String(e) }));`;
    return this.cmd("POST", "/execute/async", { script, args }).then((r) => {
      if (r && "err" in r) throw new Error(`in the page: ${r.err}`);
      return r?.ok;
    });
  }

  /** How long an async script may run (W3C default: 30 s). */
  setScriptTimeout(ms) {
    return this.cmd("POST", "/timeouts", { script: ms });
  }

  handles() {
    return this.cmd("GET", "/window/handles");
  }

  switchTo(handle) {
    return this.cmd("POST", "/window", { handle });
  }

  screenshotPng() {
    return this.cmd("GET", "/screenshot").then((b64) => Buffer.from(b64, "base64"));
  }

  /** Polls `body` (a script returning a value) until `ok(value)`, or fails after `timeoutMs`. */
  async waitFor(what, body, ok = (v) => Boolean(v), timeoutMs = 15000, ...args) {
    const t0 = Date.now();
    let last;
    while (Date.now() - t0 < timeoutMs) {
      last = await this.exec(body, ...args);
      if (ok(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
  }
}

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`webdriver ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  }
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value || {};
    throw new Error(`webdriver ${method} ${path}: ${v.error || res.status}: ${v.message || text.slice(0, 300)}`);
  }
  return json.value;
}
