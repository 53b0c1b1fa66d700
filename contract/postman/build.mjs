/**
 * Builds grau's Postman collection and local environment from openapi/openapi.json.
 *
 *   node contract/postman/build.mjs           # write postman/*.json
 *   node contract/postman/build.mjs --check   # exit 1 if the committed files differ
 *
 * openapi-to-postmanv2 converts the spec; its output is post-processed into a
 * collection that runs green from top to bottom: collection-level bearer auth,
 * an auth folder that registers a fresh account and logs in, one folder per tag
 * with create -> list -> get -> update -> delete, ids and ETags chained through
 * collection variables, and a test script on every request. Only the auth flow
 * is special-cased (by operationId, in AUTH); every other operation follows the
 * generic rules below, so resources added to the spec appear with no new code.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import converter from 'openapi-to-postmanv2';
import postmanCollection from 'postman-collection';

import {
  deref, exampleOf, operations, properties, requestSchema, requiredKeys, response, schemaName,
  successResponse, toJsonSchema,
} from './openapi.mjs';
import { freshAccountScript, testScript } from './scripts.mjs';

const { Collection } = postmanCollection;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SPEC = 'openapi/openapi.json';
const COLLECTION = 'postman/grau.postman_collection.json';
const ENVIRONMENT = 'postman/grau.local.postman_environment.json';
const DEFAULT_BASE_URL = 'http://127.0.0.1:5000';
const SCHEMA_URL = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';

// The auth flow, the one special case: these operations run in a fixed order.
const AUTH = {
  register: 'createUser',
  login: 'login',
  refresh: 'refreshTokens',
  logout: 'logout',
  me: 'getCurrentUser',
  deleteAccount: 'deleteCurrentUser',
};
// Account fields that take the run's fresh identity wherever a body has them.
const IDENTITY = { email: 'email', password: 'password', username: 'username', refresh_token: 'refreshToken' };
// References to other objects in request bodies: lists of ids start empty, and
// an exercise is one of grau's catalog exercises, looked up by the Auth folder
// (a made-up id is the client's mistake: 422).
const REFERENCES = { exercise_id: 'catalogExerciseId' };
const withReferences = (value) => {
  if (Array.isArray(value)) return value.map(withReferences);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      if (key.endsWith('_ids') && Array.isArray(v)) return [key, []];
      if (key in REFERENCES) return [key, `{{${REFERENCES[key]}}}`];
      return [key, withReferences(v)];
    }),
  );
};
// A quoted ETag no representation ever has.
const STALE_ETAG = '"0000000000-stale"';

const CONVERTER_OPTIONS = {
  folderStrategy: 'Tags',
  parametersResolution: 'Example',
  enableOptionalParameters: false,
  alwaysInheritAuthentication: true,
  includeAuthInfoInExample: false,
};

const clone = (value) => JSON.parse(JSON.stringify(value));
const camel = (name) => name.charAt(0).toLowerCase() + name.slice(1);
const isParam = (segment) => /^\{[^}]+\}$/.test(segment);
const endsWithParam = (p) => isParam(p.split('/').pop());

/** A copy of a request minus its descriptions: enough for a saved example, at half the size. */
function withoutDescriptions(request) {
  return JSON.parse(JSON.stringify(request, (key, value) => (key === 'description' ? undefined : value)));
}

/** A UUID derived from names (v5-style), so ids are the same on every build. */
function stableId(...names) {
  const hex = createHash('sha1').update(['grau-postman', ...names].join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const [a, b, c, d, e] = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(13, 16), hex.slice(17, 20), hex.slice(20, 32)];
  return `${a}-${b}-5${c}-${variant}${d}-${e}`;
}

function convert(specText) {
  return new Promise((resolve, reject) => {
    converter.convertV2({ type: 'string', data: specText }, CONVERTER_OPTIONS, (error, result) => {
      if (error) return reject(error);
      if (!result.result) return reject(new Error(`openapi-to-postmanv2: ${result.reason}`));
      resolve(result.output[0].data);
    });
  });
}

/** The converter's request items by `METHOD /path/{param}`. */
function templatesOf(collection) {
  const found = new Map();
  const walk = (items) => {
    for (const item of items) {
      if (item.item) walk(item.item);
      else {
        const segments = item.request.url.path.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s));
        found.set(`${item.request.method} /${segments.join('/')}`, item);
      }
    }
  };
  walk(collection.item);
  return found;
}

class Builder {
  constructor(spec, converted) {
    this.spec = spec;
    this.ops = operations(spec);
    this.templates = templatesOf(converted);
    this.byId = new Map(this.ops.map((o) => [o.id, o]));
    for (const id of Object.values(AUTH)) this.op(id);
    this.ids = this.idVariables();
  }

  op(id) {
    const found = this.byId.get(id);
    if (!found) throw new Error(`the auth flow needs operation ${id}, which the spec lacks`);
    return found;
  }

  /**
   * The variable holding a resource's id, per collection path: `/v1/body-stats`
   * -> `bodyStatId`, named after the schema of the create's 201 body (or, for
   * resources nobody creates through the API, of the list's items).
   */
  idVariables() {
    const ids = new Map();
    const hasId = (schema) => 'id' in properties(this.spec, schema);
    for (const o of this.ops) {
      const created = o.method === 'POST' && !endsWithParam(o.path) ? response(this.spec, o, 201) : null;
      const name = schemaName(created?.schema);
      if (name && hasId(created.schema)) ids.set(o.path, { name: `${camel(name)}Id`, from: 'create' });
    }
    for (const o of this.ops) {
      if (o.method !== 'GET' || ids.has(o.path)) continue;
      const items = properties(this.spec, response(this.spec, o, 200)?.schema).items;
      const name = schemaName(deref(this.spec, items)?.items);
      if (name && hasId(deref(this.spec, items).items)) ids.set(o.path, { name: `${camel(name)}Id`, from: 'list' });
    }
    return ids;
  }

  /** `{stat_id}` in `/v1/body-stats/{stat_id}` takes the id stored for `/v1/body-stats`. */
  pathVariable(o, param) {
    const segments = o.path.split('/');
    const at = segments.indexOf(`{${param}}`);
    const owner = this.ids.get(segments.slice(0, at).join('/'));
    if (!owner) {
      const parent = segments.slice(0, at).join('/');
      throw new Error(`${o.id}: nothing creates or lists ${parent}, so {${param}} cannot be filled`);
    }
    return owner.name;
  }

  /** The ETag variable for writes to `o.path`: named after what a GET there returns. */
  etagVariable(o) {
    const read = this.ops.find((other) => other.path === o.path && other.method === 'GET') ?? o;
    const name = schemaName(successResponse(this.spec, read).schema);
    return name ? `${camel(name)}ETag` : null;
  }

  /**
   * Order inside a tag folder. Creates and lists by rank; then reads, changes and deletes, nested resources first
   * (a set before its workout): a child's write moves its parent's version, so
   * the parent is read (its ETag taken) after its children are done with.
   */
  static order(o) {
    const rank = Builder.rank(o);
    const depth = o.path.split('/').filter(isParam).length;
    return rank < 2 ? rank : 10 + (9 - depth) * 10 + rank;
  }

  /** Rank of an operation: create, list, get, update, others, delete. */
  static rank(o) {
    if (o.method === 'POST' && !endsWithParam(o.path)) return 0;
    if (o.method === 'GET') return endsWithParam(o.path) ? 2 : 1;
    if (o.method === 'PUT' || o.method === 'PATCH') return 3;
    return o.method === 'DELETE' ? 5 : 4;
  }

  parameterValue(p) {
    const s = deref(this.spec, p.schema) ?? {};
    const value = p.example ?? s.example ?? s.default ?? s.enum?.[0];
    return value === undefined ? `<${s.format ?? s.type ?? 'value'}>` : String(value);
  }

  header(o, p, etagOverride) {
    const etag = this.etagVariable(o);
    switch (p.name.toLowerCase()) {
      case 'if-match': // writes are conditional on the version last read
        return { value: etagOverride ?? (etag ? `{{${etag}}}` : ''), disabled: !etag && !etagOverride };
      case 'if-none-match': // off: a 304 would not be the documented body
        return { value: etag ? `{{${etag}}}` : '', disabled: true };
      case 'idempotency-key':
        return { value: '{{$randomUUID}}', disabled: false };
      default:
        return { value: this.parameterValue(p), disabled: !p.required };
    }
  }

  body(o, patch) {
    const schema = requestSchema(this.spec, o);
    if (!schema) return null;
    // A partial update leaves secrets out: changing a password signs out every session.
    const partial = o.method === 'PATCH';
    const value = withReferences(
      exampleOf(this.spec, schema, (_, p) => p.readOnly || (partial && p.writeOnly), o.id),
    );
    for (const [field, variable] of Object.entries(IDENTITY)) {
      if (field in value) value[field] = `{{${variable}}}`;
    }
    return { ...value, ...patch };
  }

  /** What a success body must repeat of the request body (formatted values are normalised, so skipped). */
  echo(o, body, schema) {
    const props = properties(this.spec, schema);
    const echo = {};
    for (const [field, value] of Object.entries(body ?? {})) {
      const prop = deref(this.spec, props[field]);
      if (!prop || prop.writeOnly || prop.format || (value !== null && typeof value === 'object')) continue;
      const variable = typeof value === 'string' && /^\{\{(\w+)\}\}$/.exec(value)?.[1];
      echo[field] = variable ? { variable } : value;
    }
    return echo;
  }

  /**
   * One request item. Options: name, status (expected; default the first 2xx),
   * noauth, body (fields to override), ifMatch (header value),
   * tokens ('store' | 'rotate'), prerequest (script lines), query (values to
   * send), storeFirst (variable for the first listed item's id).
   */
  item(o, options = {}) {
    const template = this.templates.get(o.key);
    if (!template) throw new Error(`openapi-to-postmanv2 produced no request for ${o.key}`);
    const request = clone(template.request);
    delete request.name;

    for (const query of request.url.query ?? []) {
      const p = o.parameters.find((x) => x.in === 'query' && x.name === query.key);
      const s = deref(this.spec, p?.schema) ?? {};
      query.value = this.parameterValue(p ?? {});
      // Send what has a default (paging, sort); filters stay off but visible.
      query.disabled = !(p?.required || 'default' in s);
      if (options.query && query.key in options.query) {
        query.value = String(options.query[query.key]);
        query.disabled = false;
      }
    }
    for (const variable of request.url.variable ?? []) {
      variable.value = `{{${this.pathVariable(o, variable.key)}}}`;
      const p = o.parameters.find((x) => x.in === 'path' && x.name === variable.key);
      const content = p?.description ?? `(Required) the ${variable.value} stored earlier in the run`;
      variable.description = { content, type: 'text/plain' };
    }
    for (const header of request.header ?? []) {
      const p = o.parameters.find((x) => x.in === 'header' && x.name.toLowerCase() === header.key.toLowerCase());
      if (p) Object.assign(header, this.header(o, p, options.ifMatch));
    }
    const body = this.body(o, options.body);
    if (body) request.body.raw = JSON.stringify(body, null, 2);
    const file = fileExample(this.spec, o);
    if (file) {
      // A file upload sends the spec's example file as the body: no file to attach by hand.
      request.body = { mode: 'raw', raw: file.example, options: { raw: { language: 'text' } } };
      request.header = [
        ...(request.header ?? []).filter((h) => h.key.toLowerCase() !== 'content-type'),
        { key: 'Content-Type', value: file.type },
      ];
    }
    if (o.public || options.noauth) request.auth = { type: 'noauth' };
    else delete request.auth; // inherit the collection's bearer {{accessToken}}

    const status = options.status ?? successResponse(this.spec, o).status;
    const expected = response(this.spec, o, status);
    if (!expected) throw new Error(`${o.id} does not document ${status}, so no request may expect it`);
    const success = status < 300;
    const name = schemaName(expected.schema);
    const problem = expected.mediaType === 'application/problem+json';
    const owner = this.ids.get(o.path);
    const items = properties(this.spec, expected.schema).items;
    const plan = {
      source: o.id,
      status,
      reason: STATUS_CODES[status],
      mediaType: expected.mediaType,
      schema: expected.schema && toJsonSchema(this.spec, expected.schema),
      schemaName: name ?? 'response',
      keys: expected.schema && !problem ? requiredKeys(this.spec, expected.schema) : [],
      // Headers the spec marks required, and a documented ETag: the If-Match chain depends on it.
      headers: [...new Set([...expected.requiredHeaders, ...expected.headers.filter((h) => h === 'ETag')])],
      bearerChallenge: status === 401 && expected.headers.includes('WWW-Authenticate'),
      rotated: options.tokens === 'rotate',
    };
    if (success) {
      const hasId = 'id' in properties(this.spec, expected.schema);
      const writes = ['POST', 'PUT', 'PATCH'].includes(o.method) && !options.tokens;
      plan.echo = writes ? this.echo(o, body, expected.schema) : {};
      plan.idIs = endsWithParam(o.path) && hasId ? this.pathVariable(o, o.path.split('/').pop().slice(1, -1)) : null;
      plan.listHas =
        o.method === 'GET' && items && owner?.from === 'create' && !options.storeFirst ? owner.name : null;
      plan.store = {
        tokens: Boolean(options.tokens),
        id: status === 201 && hasId && owner?.from === 'create' ? owner.name : null,
        firstId:
          options.storeFirst ??
          (o.method === 'GET' && items && owner?.from === 'list' ? owner.name : null),
        // Kept where the spec documents an ETag, and from creates (their version, for If-Match).
        etag: name && (expected.headers.includes('ETag') || status === 201) ? `${camel(name)}ETag` : null,
      };
    }

    const event = [{ listen: 'test', script: { type: 'text/javascript', exec: testScript(plan) } }];
    if (options.prerequest) {
      event.unshift({ listen: 'prerequest', script: { type: 'text/javascript', exec: options.prerequest } });
    }
    return {
      name: options.name ?? o.op.summary ?? o.id,
      event,
      request,
      // Saved examples belong to an operation's main request, not to its repeats.
      response: options.name ? [] : this.examples(o, request),
      ...(template.protocolProfileBehavior && { protocolProfileBehavior: template.protocolProfileBehavior }),
    };
  }

  /** Saved examples, one per documented status, bodies from the spec's examples. */
  examples(o, request) {
    return Object.keys(o.op.responses ?? {})
      .filter((code) => /^\d{3}$/.test(code)) // `default` is no status a response can show
      .map((code) => {
        const r = response(this.spec, o, Number(code));
        const fromSchema = () => (r.schema ? exampleOf(this.spec, r.schema, (_, p) => p.writeOnly, o.id) : undefined);
        let body = r.example ?? fromSchema();
        if (r.mediaType === 'application/problem+json' && r.example === undefined) {
          // The shared Problem schema's examples describe one 404; say what this status is.
          body = { type: 'about:blank', title: STATUS_CODES[code], status: Number(code), detail: r.description };
        }
        return {
          name: r.description || STATUS_CODES[code],
          originalRequest: withoutDescriptions(request),
          status: STATUS_CODES[code],
          code: Number(code),
          header: [
            ...(r.mediaType ? [{ key: 'Content-Type', value: r.mediaType }] : []),
            ...r.headers.map((key) => ({ key, value: '' })),
          ],
          body: body === undefined ? '' : JSON.stringify(body, null, 2),
          cookie: [],
          _postman_previewlanguage: /json/.test(r.mediaType ?? '') ? 'json' : 'text',
        };
      });
  }

  /** A tag's requests: generic order, plus the negative checks its responses document. */
  tagItems(ops) {
    // Placed by folders(); getCurrentUser also runs in its tag like any read.
    const special = new Set([AUTH.register, AUTH.login, AUTH.refresh, AUTH.logout, AUTH.deleteAccount]);
    const sorted = ops
      .filter((o) => !special.has(o.id))
      .map((o, index) => ({ o, index }))
      .sort((a, b) => Builder.order(a.o) - Builder.order(b.o) || a.index - b.index)
      .map(({ o }) => o);
    const items = [];
    for (const o of sorted) {
      items.push(this.item(o));
      const ifMatch = o.parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === 'if-match');
      if (Builder.rank(o) === 3 && ifMatch && o.op.responses?.['412']) {
        const name = `${o.op.summary} with a stale If-Match`;
        items.push(this.item(o, { name, status: 412, ifMatch: STALE_ETAG }));
      }
      const read = this.ops.find((x) => x.path === o.path && x.method === 'GET');
      if (o.method === 'DELETE' && endsWithParam(o.path) && read?.op.responses?.['404']) {
        items.push(this.item(read, { name: `${read.op.summary} after deleting it`, status: 404 }));
      }
    }
    return items;
  }

  folders() {
    const login = this.op(AUTH.login);
    const me = this.op(AUTH.me);
    const tags = [...(this.spec.tags ?? []).map((t) => t.name)];
    for (const o of this.ops) if (o.tag && !tags.includes(o.tag)) tags.push(o.tag);
    const untagged = this.ops.filter((o) => !o.tag).map((o) => o.key);
    if (untagged.length) throw new Error(`operations without a tag: ${untagged.join(', ')}`);
    const describe = (tag) => (this.spec.tags ?? []).find((t) => t.name === tag)?.description ?? '';

    const auth = {
      name: login.tag,
      description: `${describe(login.tag)}\n\nRuns first: registers a fresh account, logs in, keeps the tokens for later requests.`,
      item: [
        this.item(this.op(AUTH.register), { prerequest: freshAccountScript() }),
        this.item(login, { tokens: 'store' }),
        this.item(login, { name: 'Log in with a wrong password', status: 401, body: { password: 'x{{password}}' } }),
        this.item(me, { name: `${me.op.summary} without a token`, status: 401, noauth: true }),
        this.item(this.op(AUTH.refresh), { tokens: 'rotate' }),
        this.item(this.op('listExercises'), {
          name: 'Find a catalog exercise (for requests that reference one)',
          query: { source: 'system', page_size: 1 },
          storeFirst: REFERENCES.exercise_id,
        }),
        ...this.tagItems(this.ops.filter((o) => o.tag === login.tag)),
      ],
    };
    const perTag = tags
      .filter((tag) => tag !== login.tag)
      .map((tag) => ({ name: tag, description: describe(tag), item: this.tagItems(this.ops.filter((o) => o.tag === tag)) }))
      .filter((folder) => folder.item.length);
    const signOut = {
      name: `${login.tag}: sign out`,
      description: 'Runs last: logs out (the token stops working at once), logs in again and deletes the account.',
      item: [
        this.item(this.op(AUTH.logout)),
        this.item(me, { name: `${me.op.summary} after logging out`, status: 401 }),
        this.item(login, { name: 'Log in again', tokens: 'store' }),
        this.item(this.op(AUTH.deleteAccount)),
        this.item(login, { name: 'Log in to the deleted account', status: 401 }),
      ],
    };
    return [auth, ...perTag, signOut];
  }
}

/** A request body that is a file with an example in the spec (a CSV to import): its type and text. */
function fileExample(spec, o) {
  const content = deref(spec, o.op.requestBody)?.content ?? {};
  const found = Object.entries(content).find(
    ([type, media]) => !/json|form-data/.test(type) && typeof media.example === 'string',
  );
  return found ? { type: found[0], example: found[1].example } : null;
}

/** Stable ids from names; fails on duplicate names, which would share an id. */
function assignIds(folders) {
  for (const folder of folders) {
    folder.id = stableId(folder.name);
    const names = new Set();
    for (const item of folder.item) {
      if (names.has(item.name)) throw new Error(`two requests named "${item.name}" in ${folder.name}`);
      names.add(item.name);
      item.id = stableId(folder.name, item.name);
      for (const saved of item.response) saved.id = stableId(folder.name, item.name, String(saved.code));
    }
  }
}

/** Every {{variable}} the collection reads or its scripts set, sorted (dynamic {{$...}} excluded). */
function variablesOf(folders) {
  const text = JSON.stringify(folders);
  const names = new Set();
  for (const match of text.matchAll(/\{\{(\w+)\}\}/g)) names.add(match[1]);
  for (const match of text.matchAll(/collectionVariables\.set\((?:\\"|')(\w+)/g)) names.add(match[1]);
  names.add('accessToken'); // the collection's bearer auth reads it
  names.delete('baseUrl'); // listed first, with a default
  return [...names].sort();
}

async function build(specText) {
  const spec = JSON.parse(specText);
  const converted = await convert(specText);
  const folders = new Builder(spec, converted).folders();
  assignIds(folders);
  const environmentName = `${spec.info.title} local`;
  const howToRun = [
    `Generated from ${SPEC} by \`make postman\`. Select the "${environmentName}" environment (or set`,
    '`baseUrl`) and run the whole collection in order: the first folder registers a fresh account and',
    'logs in, the last one logs out and deletes the account. Every request tests its status and response',
    'shape against the spec.',
  ].join('\n');
  const description = `${converted.info.description?.content ?? converted.info.description ?? ''}\n\n${howToRun}`;
  const collection = {
    info: { _postman_id: stableId('collection', spec.info.title), name: spec.info.title, description, schema: SCHEMA_URL },
    item: folders,
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] },
    variable: [
      { key: 'baseUrl', value: DEFAULT_BASE_URL, type: 'string' },
      ...variablesOf(folders).map((key) => ({ key, value: '', type: 'string' })),
    ],
  };
  const environment = {
    id: stableId('environment', 'local'),
    name: environmentName,
    values: [{ key: 'baseUrl', value: DEFAULT_BASE_URL, type: 'default', enabled: true }],
    _postman_variable_scope: 'environment',
  };
  return { [COLLECTION]: collection, [ENVIRONMENT]: environment };
}

/** Import sanity: postman-collection (what newman runs on) loads it, and every request has tests. */
function validate(json) {
  const collection = new Collection(json);
  const problems = [];
  let requests = 0;
  collection.forEachItem((item) => {
    requests += 1;
    const tests = item.events.listeners('test').flatMap((event) => event.script?.exec ?? []);
    if (!tests.some((line) => line.includes('pm.test('))) problems.push(`"${item.name}" has no test`);
    if (!item.request?.url?.getPath()) problems.push(`"${item.name}" has no URL`);
  });
  const built = json.item.reduce((sum, folder) => sum + folder.item.length, 0);
  if (requests !== built) problems.push(`postman-collection sees ${requests} requests, the build made ${built}`);
  if (problems.length) throw new Error(`the collection does not hold up:\n  ${problems.join('\n  ')}`);
  return requests;
}

async function main() {
  const check = process.argv.includes('--check');
  const specText = readFileSync(path.join(ROOT, SPEC), 'utf8');
  const render = async () => {
    const files = Object.entries(await build(specText));
    return Object.fromEntries(files.map(([file, json]) => [file, `${JSON.stringify(json, null, 2)}\n`]));
  };
  const first = await render();
  // Built twice: anything random left over from the converter shows up as a difference.
  const second = await render();
  for (const file of Object.keys(first)) {
    if (first[file] !== second[file]) throw new Error(`${file} differs between two builds: not deterministic`);
  }
  const requests = validate(JSON.parse(first[COLLECTION]));

  if (!check) {
    for (const [file, text] of Object.entries(first)) writeFileSync(path.join(ROOT, file), text);
    console.log(`wrote ${COLLECTION} (${requests} requests) and ${ENVIRONMENT}`);
    return 0;
  }
  let stale = 0;
  for (const [file, text] of Object.entries(first)) {
    let committed = null;
    try {
      committed = readFileSync(path.join(ROOT, file), 'utf8');
    } catch {
      // missing counts as different
    }
    if (committed === text) continue;
    stale += 1;
    if (committed === null) {
      console.error(`${file} is missing`);
      continue;
    }
    const old = committed.split('\n');
    const at = text.split('\n').findIndex((line, i) => line !== old[i]);
    console.error(`${file} differs from what the build makes (first at line ${at + 1})`);
  }
  if (stale) {
    console.error('run `make postman` and commit the result');
    return 1;
  }
  console.log(`${COLLECTION} and ${ENVIRONMENT} are up to date (${requests} requests)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`postman build failed: ${error.message}`);
    process.exit(1);
  },
);
