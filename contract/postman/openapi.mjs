/**
 * Reading grau's OpenAPI document for the Postman build: operations with their
 * resolved parameters and success responses, example values built from the
 * schemas' examples, and response schemas turned into plain JSON Schema that
 * Postman's sandbox (Ajv 6, draft-07) can check a response against.
 */

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'];

// Keywords that describe rather than constrain: dropped from the schemas that
// the tests embed, to keep them short (and because Ajv 6 knows no OpenAPI extras).
const ANNOTATIONS = new Set([
  'description', 'example', 'examples', 'title', 'readOnly', 'writeOnly', 'deprecated',
  'default', 'externalDocs', 'xml', 'discriminator', '$comment', 'contentMediaType',
]);
// Formats Ajv 6 validates; any other would make it throw at compile time.
const AJV6_FORMATS = new Set([
  'date', 'time', 'date-time', 'uri', 'uri-reference', 'uri-template', 'url', 'email',
  'hostname', 'ipv4', 'ipv6', 'regex', 'uuid', 'json-pointer', 'relative-json-pointer',
]);
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMAS = new Set([
  'items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
]);

/** The component a local `$ref` points at, e.g. `#/components/schemas/User`. */
export function deref(spec, node) {
  let seen = 0;
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (!node.$ref.startsWith('#/') || ++seen > 20) throw new Error(`cannot resolve ${node.$ref}`);
    const target = node.$ref.slice(2).split('/').reduce((at, key) => at?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
    if (target === undefined) throw new Error(`dangling $ref ${node.$ref}`);
    node = target;
  }
  return node;
}

/** `User` for `{"$ref": "#/components/schemas/User"}`, else null. */
export function schemaName(schema) {
  const match = /^#\/components\/schemas\/([^/]+)$/.exec(schema?.$ref ?? '');
  return match ? match[1] : null;
}

/** Every operation in document order, with path and operation parameters merged and resolved. */
export function operations(spec) {
  const found = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    const shared = (item.parameters ?? []).map((p) => deref(spec, p));
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      if (!op.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const own = (op.parameters ?? []).map((p) => deref(spec, p));
      const parameters = [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own];
      found.push({
        id: op.operationId,
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        op,
        parameters,
        tag: op.tags?.[0] ?? null,
        public: Array.isArray(op.security ?? spec.security) && (op.security ?? spec.security).length === 0,
      });
    }
  }
  return found;
}

/** The response documented for `status` (a number), resolved, with its JSON media type if any. */
export function response(spec, operation, status) {
  const raw = operation.op.responses?.[String(status)];
  if (!raw) return null;
  const resolved = deref(spec, raw);
  const content = Object.entries(resolved.content ?? {});
  const [jsonType, media] = content.find(([type]) => /json/.test(type)) ?? [null, null];
  return {
    status,
    description: resolved.description ?? '',
    mediaType: jsonType ?? content[0]?.[0] ?? null,
    schema: media?.schema ?? null, // only JSON bodies are checked against a schema
    example: media?.example,
    headers: Object.keys(resolved.headers ?? {}),
    // Only these may be asserted: a header is optional unless the spec says `required: true`.
    requiredHeaders: Object.entries(resolved.headers ?? {})
      .filter(([, header]) => deref(spec, header).required === true)
      .map(([name]) => name),
  };
}

/** The 2xx a first request gets: 201 where a create documents it, else the first 2xx. */
export function successResponse(spec, operation) {
  const codes = Object.keys(operation.op.responses ?? {}).filter((c) => /^2\d\d$/.test(c));
  // A create that may also update what its body names (a reading's source and external_id)
  // documents 200 beside 201: a first request creates.
  const code = codes.includes('201') ? '201' : codes[0];
  if (!code) throw new Error(`${operation.id} documents no 2xx response`);
  return response(spec, operation, Number(code));
}

/** The JSON request body schema, or null. */
export function requestSchema(spec, operation) {
  const body = deref(spec, operation.op.requestBody);
  const entry = Object.entries(body?.content ?? {}).find(([type]) => /json/.test(type));
  return entry ? entry[1].schema : null;
}

/** The resolved schema's properties (empty for non-objects). */
export function properties(spec, schema) {
  return deref(spec, schema)?.properties ?? {};
}

/**
 * An example value for `schema` from the spec's own examples: `example`, then
 * `examples[0]`, `default`, the first enum value, or an object/array assembled
 * from its parts. `skip(name, propertySchema)` leaves properties out. A
 * required property without any example is an error: the spec should carry one.
 */
export function exampleOf(spec, schema, skip = () => false, where = 'schema') {
  if (!schema || typeof schema !== 'object') return undefined;
  // An example next to a $ref (OpenAPI 3.1 allows it) wins over the target's.
  if ('example' in schema) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  const name = schemaName(schema) ?? where;
  const s = deref(spec, schema);
  if (s !== schema) return exampleOf(spec, s, skip, name);
  if ('default' in s && s.default !== null) return s.default;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  // A nullable reference (anyOf [X, null]): the example of X.
  for (const key of ['anyOf', 'oneOf']) {
    const options = (s[key] ?? []).filter((option) => deref(spec, option).type !== 'null');
    if (options.length) return exampleOf(spec, options[0], skip, name);
  }
  // allOf without properties composes the example; beside properties it holds
  // rules of their own, which carry no examples.
  if (s.allOf && !s.properties) return Object.assign({}, ...s.allOf.map((part) => exampleOf(spec, part, skip, name) ?? {}));
  if (s.properties || s.type === 'object') {
    const value = {};
    for (const [prop, propSchema] of Object.entries(s.properties ?? {})) {
      if (skip(prop, deref(spec, propSchema))) continue;
      const v = exampleOf(spec, propSchema, skip, `${name}.${prop}`);
      if (v !== undefined) value[prop] = v;
      else if ((s.required ?? []).includes(prop)) throw new Error(`${name}.${prop} is required but has no example in the spec`);
    }
    return value;
  }
  if (s.items) {
    const item = exampleOf(spec, s.items, skip, `${name}[]`);
    return item === undefined ? [] : [item];
  }
  return undefined;
}

/**
 * `schema` as a self-contained draft-07 JSON Schema: referenced components move
 * under `definitions`, annotations and formats Ajv 6 does not know are dropped.
 */
export function toJsonSchema(spec, schema) {
  const definitions = {};
  const convert = (node) => {
    if (Array.isArray(node)) return node.map(convert);
    if (!node || typeof node !== 'object') return node;
    const name = schemaName(node);
    if (name) {
      if (!(name in definitions)) {
        definitions[name] = {}; // placeholder first: recursive schemas terminate
        definitions[name] = convert(deref(spec, node));
      }
      return { $ref: `#/definitions/${name}` };
    }
    if (node.$ref) throw new Error(`unsupported $ref ${node.$ref}`);
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (ANNOTATIONS.has(key) || key.startsWith('x-')) continue;
      if (key === 'format' && !AJV6_FORMATS.has(value)) continue;
      if (SCHEMA_MAPS.has(key)) {
        out[key === '$defs' ? 'definitions' : key] = Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, convert(v)]),
        );
      } else if (SCHEMA_LISTS.has(key) || SCHEMAS.has(key)) {
        out[key] = convert(value);
      } else {
        out[key] = value;
      }
    }
    return out;
  };
  const root = convert(schema);
  if (!Object.keys(definitions).length) return root;
  // draft-07 ignores keywords beside $ref, so the root refers through allOf.
  return { ...(root.$ref ? { allOf: [root] } : root), definitions };
}

/**
 * The keys a body must have: the schema's `required`, or, where the spec
 * declares none, every property that is not write-only.
 */
export function requiredKeys(spec, schema) {
  const s = deref(spec, schema);
  if (!s) return [];
  if (Array.isArray(s.required) && s.required.length) return [...s.required];
  return Object.entries(s.properties ?? {})
    .filter(([, p]) => !deref(spec, p).writeOnly)
    .map(([name]) => name);
}
