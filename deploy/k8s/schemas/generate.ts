// Write the strict JSON Schemas of the Kubernetes kinds that deploy/k8s/ uses, from the published
// Kubernetes API types (npm `kubernetes-types`, generated upstream from the Kubernetes OpenAPI
// spec; its version is the Kubernetes version). Run it only to move to another Kubernetes version:
//
//   d=$(mktemp -d) && (cd "$d" && npm pack kubernetes-types@1.30.0 && tar xzf kubernetes-types-*.tgz)
//   node --import tsx deploy/k8s/schemas/generate.ts "$d/package" deploy/k8s/schemas/v1.30
//
// The form is kubeconform's "standalone-strict": one self-contained file per kind, every object
// closed (an unknown or misspelt field is an error), required fields required, apiVersion and kind
// pinned. Mapping from the TypeScript types:
//
//   interface with fields   → object, properties, required, additionalProperties: false
//   interface without any   → object, anything inside (RawExtension, FieldsV1)
//   { [k: string]: T }      → object whose values are T (labels, annotations, data)
//   Array<T>                → array of T
//   "a" | "b"               → enum            number | string → integer or string (IntOrString)
//   number                  → integer (the Kubernetes API has no floats in these kinds)
//   Quantity                → string or number ("500m", 1)   Time, MicroTime → date-time string

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** The kinds deploy/k8s/ uses: the file of the types, the interface, and the schema's file name. */
const KINDS = [
  { module: 'core/v1', name: 'ConfigMap', file: 'configmap-v1.json' },
  { module: 'core/v1', name: 'Namespace', file: 'namespace-v1.json' },
  { module: 'apps/v1', name: 'DaemonSet', file: 'daemonset-apps-v1.json' },
  { module: 'policy/v1', name: 'PodDisruptionBudget', file: 'poddisruptionbudget-policy-v1.json' },
  { module: 'scheduling/v1', name: 'PriorityClass', file: 'priorityclass-scheduling-v1.json' },
] as const;

type Schema = Record<string, unknown>;

function generate(pkg: string, out: string): void {
  const version = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const program = ts.createProgram(
    KINDS.map((k) => join(pkg, `${k.module}.d.ts`)),
    { noEmit: true, strict: true },
  );
  const checker = program.getTypeChecker();
  mkdirSync(out, { recursive: true });

  for (const kind of KINDS) {
    const source = program.getSourceFile(join(pkg, `${kind.module}.d.ts`));
    const decl = source?.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === kind.name);
    if (!decl) throw new Error(`${kind.module}: no interface ${kind.name}`);
    const definitions: Record<string, Schema> = {};

    const nameOf = (t: ts.Type): string => {
      const d = t.getSymbol()?.declarations?.[0];
      const mod = relative(pkg, d?.getSourceFile().fileName ?? '').replace(/\.d\.ts$/, '').replaceAll('/', '.');
      return `${mod}.${t.getSymbol()?.getName() ?? '?'}`;
    };

    // `node`: how the field was written; `Quantity` and `Time` are aliases of string, which the
    // checker's types forget.
    const convert = (t: ts.Type, node?: ts.TypeNode): Schema => {
      const alias = node && ts.isTypeReferenceNode(node) ? node.typeName.getText() : t.aliasSymbol?.getName();
      if (alias === 'Quantity') return { type: ['string', 'number'] };
      if (alias === 'Time' || alias === 'MicroTime') return { type: 'string', format: 'date-time' };
      if (t.flags & ts.TypeFlags.String) return { type: 'string' };
      if (t.flags & ts.TypeFlags.Number) return { type: 'integer' };
      if (t.flags & ts.TypeFlags.Boolean) return { type: 'boolean' };
      if (t.isStringLiteral()) return { type: 'string', enum: [t.value] };
      if (t.isUnion()) {
        const parts = t.types.filter((u) => !(u.flags & ts.TypeFlags.Undefined));
        if (parts.every((u) => u.flags & ts.TypeFlags.BooleanLiteral)) return { type: 'boolean' };
        if (parts.every((u) => u.isStringLiteral())) return { type: 'string', enum: parts.map((u) => (u).value) };
        const flags = parts.map((u) => u.flags & (ts.TypeFlags.Number | ts.TypeFlags.String)).sort();
        if (parts.length === 2 && flags[0] === ts.TypeFlags.String && flags[1] === ts.TypeFlags.Number) return { type: ['integer', 'string'] };
        if (parts.length === 1) return convert(parts[0] as ts.Type);
        throw new Error(`unsupported union ${checker.typeToString(t)}`);
      }
      if (checker.isArrayType(t)) return { type: 'array', items: convert(checker.getTypeArguments(t as ts.TypeReference)[0] as ts.Type) };
      if (t.flags & ts.TypeFlags.Object) {
        const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
        const props = checker.getPropertiesOfType(t);
        if (index && props.length === 0) return { type: 'object', additionalProperties: convert(index.type, index.declaration?.type) };
        if (props.length === 0) return { type: 'object' };
        const key = nameOf(t);
        if (!(key in definitions)) {
          const def: Schema = { type: 'object' };
          definitions[key] = def; // before the fields: a type may contain itself
          const properties: Record<string, Schema> = {};
          const required: string[] = [];
          for (const p of props) {
            const d = p.valueDeclaration;
            properties[p.name] = convert(checker.getTypeOfSymbol(p), d && ts.isPropertySignature(d) ? d.type : undefined);
            if (!(p.flags & ts.SymbolFlags.Optional)) required.push(p.name);
          }
          Object.assign(def, { properties, ...(required.length > 0 && { required }), additionalProperties: false });
        }
        return { $ref: `#/definitions/${key}` };
      }
      throw new Error(`unsupported type ${checker.typeToString(t)}`);
    };

    const topKey = (convert(checker.getTypeAtLocation(decl.name)).$ref as string).replace('#/definitions/', '');
    const top = definitions[topKey] as Schema;
    delete definitions[topKey]; // the kind itself is the document's root (no type contains a kind)
    // A manifest names its kind: apiVersion and kind are required at the top, optional elsewhere.
    top.required = [...new Set(['apiVersion', 'kind', ...((top.required as string[] | undefined) ?? [])])];
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      $comment: `${kind.name} (${kind.module}), Kubernetes ${version}, strict; generated by deploy/k8s/schemas/generate.ts from kubernetes-types@${version}`,
      ...top,
      definitions: Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b))),
    };
    writeFileSync(join(out, kind.file), `${JSON.stringify(schema, null, 1)}\n`);
    process.stdout.write(`${join(out, kind.file)}: ${Object.keys(definitions).length} types\n`);
  }
}

const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) {
  process.stderr.write('usage: generate.ts KUBERNETES_TYPES_PACKAGE_DIR OUT_DIR\n');
  process.exit(2);
}
generate(pkg, out);
