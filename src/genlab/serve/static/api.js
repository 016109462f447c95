// The API reference, drawn from the server's own OpenAPI schema (no external viewer needed).
"use strict";

const h = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
};

function resolve(schema, spec) {
  if (schema && schema.$ref) return resolve(spec.components.schemas[schema.$ref.split("/").pop()], spec);
  return schema || {};
}

function typeOf(schema, spec) {
  const s = resolve(schema, spec);
  if (s.anyOf) return s.anyOf.map((x) => typeOf(x, spec)).join(" | ");
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.type === "array") return `${typeOf(s.items, spec)}[]`;
  return s.type || s.title || "object";
}

function limits(schema, spec) {
  const s = resolve(schema, spec);
  const parts = [];
  for (const [key, label] of [["minimum", "≥"], ["exclusiveMinimum", ">"], ["maximum", "≤"], ["minLength", "min length"], ["maxLength", "max length"], ["pattern", "pattern"]]) {
    if (s[key] !== undefined) parts.push(`${label} ${s[key]}`);
  }
  for (const alt of s.anyOf || []) parts.push(...limits(alt, spec));
  if (s.default !== undefined && s.default !== null) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts;
}

function fieldTable(rows) {
  const table = h("table", "fields");
  for (const [name, type, required, notes] of rows) {
    const tr = h("tr");
    tr.append(h("td", "name", name + (required ? " *" : "")), h("td", "type", type), h("td", "notes", notes));
    table.append(tr);
  }
  return table;
}

async function main() {
  const spec = await (await fetch("/openapi.json")).json();
  const root = document.getElementById("api");
  root.append(h("h1", null, `${spec.info.title} ${spec.info.version}`), h("p", "muted", spec.info.description || ""));
  root.append(h("p", "muted", "Send Authorization: Bearer TOKEN when the server was started with a token."));
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const card = h("section", "panel op");
      const head = h("div", "op-head");
      head.append(h("span", `method ${method}`, method.toUpperCase()), h("code", null, path));
      card.append(head, h("p", "doc", op.description || op.summary || ""));
      const params = (op.parameters || []).map((p) => [p.name, `${p.in} · ${typeOf(p.schema, spec)}`, p.required, [p.description, ...limits(p.schema, spec)].filter(Boolean).join(" · ")]);
      if (params.length) card.append(h("h4", null, "Parameters"), fieldTable(params));
      const content = op.requestBody && op.requestBody.content;
      if (content) {
        const [mediaType, body] = Object.entries(content)[0];
        const schema = resolve(body.schema, spec);
        const required = new Set(schema.required || []);
        const rows = Object.entries(schema.properties || {}).map(([name, prop]) => [name, typeOf(prop, spec), required.has(name), [resolve(prop, spec).description, ...limits(prop, spec)].filter(Boolean).join(" · ")]);
        card.append(h("h4", null, `Body (${mediaType})`), fieldTable(rows));
      }
      card.append(h("p", "muted", "Answers: " + Object.keys(op.responses || {}).join(", ")));
      root.append(card);
    }
  }
}

main().catch((err) => { document.getElementById("api").textContent = `Could not load the schema: ${err.message}`; });
