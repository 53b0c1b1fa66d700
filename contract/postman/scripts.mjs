/**
 * The JavaScript that the Postman collection runs: a test script per request
 * (status, media type, JSON schema, keys, headers, and the values that chain
 * requests together) and the pre-request script that invents a fresh account.
 * Everything here is text generated from a plan, so the output is deterministic.
 */

const js = (value) => JSON.stringify(value);
const PROBLEM_MEMBERS = ['type', 'title', 'status', 'detail'];

function test(name, body) {
  return [`pm.test(${js(name)}, function () {`, ...body.map((line) => `    ${line}`), '});'];
}

const variable = (name) => `pm.collectionVariables.get(${js(name)})`;

/**
 * A test script from a plan:
 *   source       operationId the request was generated from
 *   status       expected status code; reason: its reason phrase
 *   mediaType    expected media type of the body, or null for no body
 *   schema       draft-07 JSON Schema of the body (schemaName names it)
 *   keys         keys the body must have
 *   headers      response headers that must be present
 *   bearerChallenge  a 401 that must carry `WWW-Authenticate: Bearer`
 *   echo         {field: literal | {variable}}: values the body must repeat
 *   idIs         the body's id must be this variable's value
 *   listHas      the list's items must include this variable's value as an id
 *   rotated      the body's refresh_token must differ from the stored one
 *   store        {id, firstId, etag, tokens}: variables to fill from a success
 */
export function testScript(plan) {
  const lines = [
    `// Generated from ${plan.source} in openapi/openapi.json by contract/postman/build.mjs: edit those, not this.`,
  ];
  if (plan.schema) lines.push(`const schema = ${JSON.stringify(plan.schema, null, 4)};`);
  lines.push(...test(`status is ${plan.status} ${plan.reason}`, [`pm.response.to.have.status(${plan.status});`]));

  if (!plan.mediaType) {
    lines.push(...test('body is empty', ["pm.expect(pm.response.text()).to.equal('');"]));
  } else {
    lines.push(
      ...test(`Content-Type is ${plan.mediaType}`, [
        "const type = (pm.response.headers.get('Content-Type') || '').split(';')[0].trim();",
        `pm.expect(type).to.equal(${js(plan.mediaType)});`,
      ]),
    );
  }
  if (plan.schema) {
    lines.push(...test(`body matches the ${plan.schemaName} schema`, ['pm.response.to.have.jsonSchema(schema);']));
  }
  if (plan.keys?.length) {
    const name = plan.keys.length > 6 ? `all ${plan.keys.length} ${plan.schemaName} keys` : plan.keys.join(', ');
    lines.push(...test(`body has ${name}`, [`pm.expect(pm.response.json()).to.include.all.keys(${js(plan.keys)});`]));
  }
  if (plan.mediaType === 'application/problem+json') {
    lines.push(
      ...test(`problem has ${PROBLEM_MEMBERS.join(', ')} and status ${plan.status}`, [
        'const problem = pm.response.json();',
        `pm.expect(problem).to.include.all.keys(${js(PROBLEM_MEMBERS)});`,
        `pm.expect(problem.status).to.equal(${plan.status});`,
      ]),
    );
  }
  for (const header of plan.headers ?? []) {
    lines.push(...test(`${header} header is present`, [`pm.response.to.have.header(${js(header)});`]));
  }
  if (plan.bearerChallenge) {
    lines.push(
      ...test('WWW-Authenticate is a Bearer challenge', [
        "pm.expect(pm.response.headers.get('WWW-Authenticate') || '').to.match(/^Bearer\\b/);",
      ]),
    );
  }
  const echo = Object.entries(plan.echo ?? {});
  if (echo.length) {
    lines.push(
      ...test(`body repeats the ${echo.map(([field]) => field).join(', ')} sent`, [
        'const body = pm.response.json();',
        ...echo.map(([field, value]) =>
          `pm.expect(body[${js(field)}]).to.eql(${value?.variable ? variable(value.variable) : js(value)});`,
        ),
      ]),
    );
  }
  if (plan.idIs) {
    const check = `pm.expect(pm.response.json().id).to.equal(${variable(plan.idIs)});`;
    lines.push(...test(`id is {{${plan.idIs}}}`, [check]));
  }
  if (plan.listHas) {
    lines.push(
      ...test(`items include {{${plan.listHas}}} (unless the list runs past this page)`, [
        'const page = pm.response.json();',
        'const ids = page.items.map(function (item) { return item.id; });',
        '// A shared catalog sorts by name: the new item may be on a later page.',
        'if (page.pagination.total > page.items.length) {',
        '    pm.expect(page.pagination.total).to.be.above(ids.length);',
        '} else {',
        `    pm.expect(ids).to.include(${variable(plan.listHas)});`,
        '}',
      ]),
    );
  }
  if (plan.rotated) {
    lines.push(
      ...test('the refresh token was rotated', [
        `pm.expect(pm.response.json().refresh_token).to.be.a('string').and.not.equal(${variable('refreshToken')});`,
      ]),
    );
  }
  lines.push(...storeLines(plan));
  return lines;
}

function storeLines({ status, store = {} }) {
  const sets = [];
  if (store.tokens) {
    sets.push(
      "pm.collectionVariables.set('accessToken', pm.response.json().access_token);",
      "pm.collectionVariables.set('refreshToken', pm.response.json().refresh_token);",
    );
  }
  if (store.id) sets.push(`pm.collectionVariables.set(${js(store.id)}, pm.response.json().id);`);
  if (store.firstId) {
    sets.push(
      'const first = pm.response.json().items[0];',
      `if (first) pm.collectionVariables.set(${js(store.firstId)}, first.id);`,
    );
  }
  if (store.etag) {
    sets.push(
      "if (pm.response.headers.has('ETag')) {",
      `    pm.collectionVariables.set(${js(store.etag)}, pm.response.headers.get('ETag'));`,
      '}',
    );
  }
  if (!sets.length) return [];
  return [
    '// Later requests use what this one returned.',
    `if (pm.response.code === ${status}) {`,
    ...sets.map((line) => `    ${line}`),
    '}',
  ];
}

/** Invents the account the run registers, logs in with and deletes at the end. */
export function freshAccountScript() {
  return [
    '// A fresh account for every run, so the collection can run again against the same server.',
    "const run = pm.variables.replaceIn('{{$randomUUID}}');",
    "pm.collectionVariables.set('email', 'grau-' + run + '@example.com');",
    "pm.collectionVariables.set('username', 'grau_' + run.replace(/-/g, ''));",
    "pm.collectionVariables.set('password', 'pw-' + run);",
  ];
}
